package session

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"runtime"
	"strings"

	"github.com/smtpbench/smtpbench/internal/loaderr"
	"github.com/smtpbench/smtpbench/internal/readlimit"
)

// Bounds on the files TLS and AUTH read: a CA bundle is a few hundred KB,
// a password a line. A larger file (or /dev/zero) is refused rather than
// read without end.
const (
	MaxPEMFile    = 16 << 20
	MaxSecretFile = 64 << 10
)

// LoadError says which file setting could not be used and why; Field is
// "CA", "Cert", "Key", "KeyPair" or "PasswordFile".
type LoadError = loaderr.LoadError

// The reasons a LoadError gives for content that cannot be used.
var (
	ErrNoPEMCert     = errors.New("no PEM certificate in the file")
	ErrCertKeyPair   = errors.New("a client certificate and its key go together")
	ErrSecretEmpty   = errors.New("is empty")
	ErrSecretOneLine = errors.New("the password must be one line")
)

// TLSFiles are a client's TLS settings as given, files not yet read.
type TLSFiles struct {
	// CA is a PEM file of CA certificates trusted besides the system's.
	CA       string
	Insecure bool
	// ServerName is sent as SNI and verified; empty: the dialed host.
	ServerName             string
	MinVersion, MaxVersion uint16
	// Cert and Key are the client certificate and its key (PEM), or both
	// empty.
	Cert, Key string
	// Resume shares one session cache among Sessions concurrent sessions.
	Resume   bool
	Sessions int
}

// LoadTLS reads the files f names and builds the client's TLS
// configuration. Errors are *LoadError.
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: f.Insecure, ServerName: f.ServerName,
		MinVersion: f.MinVersion, MaxVersion: f.MaxVersion}
	if f.CA != "" {
		pem, err := readlimit.Small(f.CA, MaxPEMFile)
		if err != nil {
			return nil, &LoadError{Field: "CA", Value: f.CA, Unreadable: true, Err: err}
		}
		cfg.RootCAs = SystemRoots()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &LoadError{Field: "CA", Value: f.CA, Err: ErrNoPEMCert}
		}
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, &LoadError{Field: "KeyPair", Value: f.Cert + f.Key, Err: ErrCertKeyPair}
	}
	if f.Cert != "" {
		certPEM, err := readlimit.Small(f.Cert, MaxPEMFile)
		if err != nil {
			return nil, &LoadError{Field: "Cert", Value: f.Cert, Unreadable: true, Err: err}
		}
		keyPEM, err := readlimit.Small(f.Key, MaxPEMFile)
		if err != nil {
			return nil, &LoadError{Field: "Key", Value: f.Key, Unreadable: true, Err: err}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, &LoadError{Field: "KeyPair", Value: f.Cert + " " + f.Key, Err: err}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if f.Resume {
		// One cache for the run, so any session resumes from the latest
		// ticket of any other; a few entries per target suffice.
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(max(f.Sessions, 64))
	}
	return cfg, nil
}

// SystemRoots is the system's trust store, or an empty pool where there is
// none to read.
func SystemRoots() *x509.CertPool {
	if p, err := x509.SystemCertPool(); err == nil && p != nil {
		return p
	}
	return x509.NewCertPool()
}

// LoadSecret reads a one-line secret from a file; the line end is not part
// of it. exposed is the file's permission bits when every user of the
// machine can read it (a secret worth a warning), else 0, also when the
// content is refused; Windows permissions are not told. Errors are
// *LoadError with Field "PasswordFile".
func LoadSecret(name string) (s Secret, exposed os.FileMode, err error) {
	fi, err := os.Stat(name)
	if err != nil {
		return "", 0, &LoadError{Field: "PasswordFile", Value: name, Unreadable: true, Err: err}
	}
	b, err := readlimit.Small(name, MaxSecretFile)
	if err != nil {
		return "", 0, &LoadError{Field: "PasswordFile", Value: name, Unreadable: true, Err: err}
	}
	if perm := fi.Mode().Perm(); perm&0o004 != 0 && runtime.GOOS != "windows" {
		exposed = perm
	}
	line := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	clear(b)
	if line == "" {
		return "", exposed, &LoadError{Field: "PasswordFile", Value: name, Err: ErrSecretEmpty}
	}
	if strings.ContainsAny(line, "\r\n\x00") {
		return "", exposed, &LoadError{Field: "PasswordFile", Value: name, Err: ErrSecretOneLine}
	}
	return Secret(line), exposed, nil
}

// DefaultPort is the port a target without one is dialed on under mode:
// 465 for TLS from the first byte (RFC 8314 7.3), else 25.
func DefaultPort(mode TLSMode) int {
	if mode == TLSImplicit {
		return 465
	}
	return 25
}
