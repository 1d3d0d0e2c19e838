// Package readlimit reads the files a run is given (content, corpora,
// address lists, certificates, secrets) with a bound, so that a file too
// large, or an endless one such as /dev/zero, is refused at once rather
// than read until memory runs out.
package readlimit

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// errNotFile refuses a device: /dev/zero would never end.
var errNotFile = errors.New("not a regular file or a pipe")

// File reads name, refusing more than limit bytes and devices (a pipe is
// read up to the limit). Its refusals are *os.PathError, as a file that
// cannot be opened is, so a caller names the file the same way.
func File(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case fi.Mode().IsRegular() && fi.Size() > limit:
		return nil, &os.PathError{Op: "read", Path: name, Err: fmt.Errorf("%d bytes, more than the %d allowed", fi.Size(), limit)}
	case fi.Mode()&(os.ModeDevice|os.ModeCharDevice|os.ModeSocket) != 0:
		return nil, &os.PathError{Op: "read", Path: name, Err: errNotFile}
	}
	return Reader(f, name, limit)
}

// Reader reads r to its end, refusing more than limit bytes; name, when
// not empty, starts the error.
func Reader(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		if name == "" {
			return nil, fmt.Errorf("longer than %d bytes", limit)
		}
		return nil, fmt.Errorf("%s: longer than %d bytes", name, limit)
	}
	return b, nil
}
