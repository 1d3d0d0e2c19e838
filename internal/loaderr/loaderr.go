// Package loaderr is the error type of the files a client or a server is
// configured with (certificates, keys, password and user files), shared by
// session and sink, which do not import each other. Each re-exports it as
// its own LoadError.
package loaderr

import "fmt"

// LoadError says which setting could not be used and why. Field names the
// setting, Value the file it names; Unreadable is set when the file could
// not be read at all (as opposed to holding the wrong thing). A command
// line maps Field to its own option names.
type LoadError struct {
	Field      string
	Value      string
	Unreadable bool
	Err        error
}

func (e *LoadError) Error() string {
	if e.Unreadable {
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Field, e.Value, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }
