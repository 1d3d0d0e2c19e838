package readlimit

import "os"

// Small reads name, refusing more than limit bytes. Unlike File it reads a
// device up to the limit rather than refusing it: certificates and secrets
// are small, and may come from a pipe or a descriptor under /dev/fd.
func Small(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Reader(f, name, limit)
}
