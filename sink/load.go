package sink

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/smtpbench/smtpbench/internal/loaderr"
	"github.com/smtpbench/smtpbench/internal/readlimit"
)

// maxConfigFile bounds the certificate, key and users files the server
// reads: each is a few KB; a larger file (or /dev/zero) is refused rather
// than read without end.
const maxConfigFile = 16 << 20

// LoadError says which file setting could not be used and why; Field is
// "Cert", "Key", "KeyPair" or "Users" (for KeyPair, Value is the certificate).
type LoadError = loaderr.LoadError

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

// Security is the server's TLS and AUTH as asked for, files not yet read.
type Security struct {
	// Cert and Key are the certificate and its key (PEM); both empty: a
	// self-signed certificate made at start.
	Cert, Key string
	// NoTLS offers no TLS at all; ImplicitTLS speaks it from the first
	// byte instead of offering STARTTLS.
	NoTLS, ImplicitTLS bool
	// Users is a file of user:password lines to offer AUTH for; empty: no
	// AUTH.
	Users                   string
	RequireTLS, RequireAuth bool
}

// Apply reads the files s names, sets TLS and AUTH on cfg, and describes
// the result in a phrase ("STARTTLS with cert.pem; AUTH ... for 2 users")
// for the line that says where the server listens. A self-signed
// certificate also names listen's host. File errors are *LoadError,
// settings that do not go together a *SpecError.
func (s Security) Apply(cfg *Config, listen string) (string, error) {
	if (s.Cert == "") != (s.Key == "") {
		return "", relation("Cert", " and {Key} go together")
	}
	if s.NoTLS && (s.Cert != "" || s.ImplicitTLS || s.RequireTLS) {
		return "", relation("NoTLS", " excludes {Cert}, {ImplicitTLS} and {RequireTLS}")
	}
	if s.RequireAuth && s.Users == "" {
		return "", relation("RequireAuth", " needs {Users}")
	}
	desc := "no TLS"
	if !s.NoTLS {
		var cert tls.Certificate
		var err error
		what := "a self-signed ECDSA P-256 certificate made at start"
		if s.Cert != "" {
			if cert, err = LoadCert(s.Cert, s.Key); err != nil {
				return "", err
			}
			what = s.Cert
		} else {
			hosts := []string{"localhost", "127.0.0.1", "::1"}
			if h, _, err := net.SplitHostPort(listen); err == nil && h != "" {
				hosts = append(hosts, h)
			}
			if cert, err = SelfSigned(hosts...); err != nil {
				return "", fmt.Errorf("making a certificate: %v", err)
			}
		}
		cfg.TLS, cfg.ImplicitTLS, cfg.RequireTLS = ServerTLS(cert), s.ImplicitTLS, s.RequireTLS
		desc = "STARTTLS with " + what
		if s.ImplicitTLS {
			desc = "implicit TLS with " + what
		}
	}
	if s.Users != "" {
		var err error
		if cfg.Users, err = LoadUsers(s.Users); err != nil {
			return "", err
		}
		cfg.RequireAuth = s.RequireAuth
		desc += fmt.Sprintf("; AUTH PLAIN LOGIN CRAM-MD5 for %d users", len(cfg.Users))
	}
	if s.RequireTLS {
		desc += "; TLS required"
	}
	if s.RequireAuth {
		desc += "; AUTH required"
	}
	return desc, nil
}
