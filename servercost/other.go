//go:build !linux

package servercost

func open(Source) (reader, error) { return nil, ErrUnsupported }
