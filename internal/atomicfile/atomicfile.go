// Package atomicfile writes the files smtpbench saves (results, HTML pages,
// profiles) so that a reader, or the user's earlier result, never sees a
// half-written file: the content goes to a temporary file in the target's
// directory, is synced to disk, and is renamed over the target only when
// complete. A run that fails, is interrupted or crashes leaves the old file
// as it was (and at worst a stray temporary file beside it).
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// File is an output being written. Close discards it unless Commit ran
// first, so a deferred Close is the cleanup on every early return.
type File struct {
	tmp  *os.File
	name string
	done bool
	// direct is set for a target that is not a regular file (a terminal,
	// a pipe such as /dev/stdout, /dev/null): it is written in place,
	// since renaming over it would replace the device or pipe itself.
	direct bool
}

// Create starts writing name. It fails at once when name's directory cannot
// take a new file, so a bad path is reported before minutes of load rather
// than after them.
func Create(name string) (*File, error) {
	if name == "" {
		return nil, errors.New("empty file name")
	}
	if fi, err := os.Stat(name); err == nil {
		switch {
		case fi.IsDir():
			return nil, &os.PathError{Op: "create", Path: name, Err: errors.New("is a directory")}
		case !fi.Mode().IsRegular():
			f, err := os.OpenFile(name, os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			return &File{tmp: f, name: name, direct: true}, nil
		}
		// A symbolic link is followed, so that the file it names is
		// replaced and the link stays.
		if real, err := filepath.EvalSymlinks(name); err == nil {
			name = real
		}
	}
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	// The temporary name starts with a dot so that a glob such as *.json
	// does not pick up a file still being written.
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		// Name the file asked for, not the temporary one.
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, &os.PathError{Op: "create", Path: name, Err: pe.Err}
		}
		return nil, err
	}
	return &File{tmp: tmp, name: name}, nil
}

// Name is the file that Commit will replace.
func (f *File) Name() string { return f.name }

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.tmp.Write(p) }

// Commit makes the content the target's: sync, close, then rename over the
// target. The new file keeps an existing target's permissions (0644 for a
// new one, where CreateTemp would give 0600).
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already closed")
	}
	f.done = true
	if f.direct {
		return f.tmp.Close()
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(f.name); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
	}
	err := f.tmp.Chmod(mode)
	if errors.Is(err, errors.ErrUnsupported) {
		err = nil // chmod on a file handle is not supported everywhere (Windows)
	}
	if err == nil {
		err = f.tmp.Sync()
	}
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp.Name(), f.name)
	}
	if err != nil {
		os.Remove(f.tmp.Name())
		var pe *os.PathError
		var le *os.LinkError
		switch {
		case errors.As(err, &pe):
			return &os.PathError{Op: "write", Path: f.name, Err: pe.Err}
		case errors.As(err, &le):
			return &os.PathError{Op: "write", Path: f.name, Err: le.Err}
		}
		return err
	}
	return nil
}

// Close discards the content unless Commit ran; the target is untouched.
func (f *File) Close() error {
	if f == nil || f.done {
		return nil
	}
	f.done = true
	f.tmp.Close()
	if f.direct {
		return nil
	}
	return os.Remove(f.tmp.Name())
}

// WriteFile is os.WriteFile made atomic.
func WriteFile(name string, b []byte) error {
	f, err := Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return &os.PathError{Op: "write", Path: name, Err: unwrapPath(err)}
	}
	return f.Commit()
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Same reports whether paths a and b name one file: equal once made
// absolute and cleaned, or, where both exist, the same file by os.SameFile
// (a hard link, a symbolic link, or another spelling of the path).
func Same(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == bb {
		return true
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
