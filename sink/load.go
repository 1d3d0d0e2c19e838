package sink

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/smtpbench/smtpbench/internal/readlimit"
)

// maxConfigFile bounds the certificate, key and users files the server
// reads: each is a few KB; a larger file (or /dev/zero) is refused rather
// than read without end.
const maxConfigFile = 16 << 20

// LoadError says which of the server's files could not be used and why.
// Field is "Cert", "Key", "KeyPair" or "Users", Value the file (for
// KeyPair, the certificate); Unreadable is set when the file could not be
// read at all, as opposed to holding the wrong thing. A command line maps
// Field to its own option names.
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

// ErrCertKeyPair refuses a certificate without its key, or a key alone.
var ErrCertKeyPair = errors.New("a certificate and its key go together")

// LoadCert reads a server certificate and its private key (PEM).
func LoadCert(certFile, keyFile string) (tls.Certificate, error) {
	if (certFile == "") != (keyFile == "") {
		return tls.Certificate{}, &LoadError{Field: "KeyPair", Value: certFile + keyFile, Err: ErrCertKeyPair}
	}
	certPEM, err := readlimit.Small(certFile, maxConfigFile)
	if err != nil {
		return tls.Certificate{}, &LoadError{Field: "Cert", Value: certFile, Unreadable: true, Err: err}
	}
	keyPEM, err := readlimit.Small(keyFile, maxConfigFile)
	if err != nil {
		return tls.Certificate{}, &LoadError{Field: "Key", Value: keyFile, Unreadable: true, Err: err}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, &LoadError{Field: "KeyPair", Value: certFile, Err: err}
	}
	return cert, nil
}

// LoadUsers reads a file of user:password lines (see ParseUsers).
func LoadUsers(name string) (map[string]string, error) {
	b, err := readlimit.Small(name, maxConfigFile)
	if err != nil {
		return nil, &LoadError{Field: "Users", Value: name, Unreadable: true, Err: err}
	}
	users, err := ParseUsers(bytes.NewReader(b))
	if err != nil {
		return nil, &LoadError{Field: "Users", Value: name, Err: err}
	}
	return users, nil
}
