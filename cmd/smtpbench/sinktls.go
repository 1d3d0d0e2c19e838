package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/sink"
)

// sinkSecFlags are the sink's TLS and AUTH flags.
type sinkSecFlags struct {
	cert, key   string
	implicit    bool
	noTLS       bool
	users       string
	requireTLS  bool
	requireAuth bool
}

func (f *sinkSecFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cert, "cert", "", "server certificate (PEM) for TLS; default: a self-signed ECDSA P-256 certificate made at start")
	fs.StringVar(&f.key, "key", "", "private key (PEM) of --cert")
	fs.BoolVar(&f.implicit, "implicit-tls", false, "speak TLS from the first byte (RFC 8314, as on port 465) instead of offering STARTTLS")
	fs.BoolVar(&f.noTLS, "no-tls", false, "offer no TLS at all")
	fs.StringVar(&f.users, "users", "", "offer AUTH PLAIN, LOGIN and CRAM-MD5 for the user:password lines of this file")
	fs.BoolVar(&f.requireTLS, "require-tls", false, "refuse MAIL (530) before STARTTLS, and AUTH (538) outside TLS")
	fs.BoolVar(&f.requireAuth, "require-auth", false, "refuse MAIL (530) before a successful AUTH")
}

// apply sets up TLS and AUTH on cfg and describes the result for the
// "listening" line.
func (f *sinkSecFlags) apply(cfg *sink.Config, listen string) (string, error) {
	if (f.cert == "") != (f.key == "") {
		return "", usagef("--cert and --key go together")
	}
	if f.noTLS && (f.cert != "" || f.implicit || f.requireTLS) {
		return "", usagef("--no-tls excludes --cert, --implicit-tls and --require-tls")
	}
	if f.requireAuth && f.users == "" {
		return "", usagef("--require-auth needs --users")
	}
	desc := "no TLS"
	if !f.noTLS {
		var cert tls.Certificate
		var err error
		what := "a self-signed ECDSA P-256 certificate made at start"
		if f.cert != "" {
			certPEM, err := readSmallFile(f.cert, maxPEMFile)
			if err != nil {
				return "", exitError{exitRun, fmt.Sprintf("--cert: %v", err)}
			}
			keyPEM, err := readSmallFile(f.key, maxPEMFile)
			if err != nil {
				return "", exitError{exitRun, fmt.Sprintf("--key: %v", err)}
			}
			if cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
				return "", usagef("--cert %s --key %s: %v", f.cert, f.key, err)
			}
			what = f.cert
		} else {
			hosts := []string{"localhost", "127.0.0.1", "::1"}
			if h, _, err := net.SplitHostPort(listen); err == nil && h != "" {
				hosts = append(hosts, h)
			}
			if cert, err = sink.SelfSigned(hosts...); err != nil {
				return "", exitError{exitRun, fmt.Sprintf("making a certificate: %v", err)}
			}
		}
		cfg.TLS, cfg.ImplicitTLS, cfg.RequireTLS = sink.ServerTLS(cert), f.implicit, f.requireTLS
		desc = "STARTTLS with " + what
		if f.implicit {
			desc = "implicit TLS with " + what
		}
	}
	if f.users != "" {
		b, err := readSmallFile(f.users, maxPEMFile)
		if err != nil {
			return "", exitError{exitRun, fmt.Sprintf("--users: %v", err)}
		}
		if cfg.Users, err = sink.ParseUsers(bytes.NewReader(b)); err != nil {
			return "", usagef("--users %s: %v", f.users, err)
		}
		cfg.RequireAuth = f.requireAuth
		desc += fmt.Sprintf("; AUTH PLAIN LOGIN CRAM-MD5 for %d users", len(cfg.Users))
	}
	if f.requireTLS {
		desc += "; TLS required"
	}
	if f.requireAuth {
		desc += "; AUTH required"
	}
	return desc, nil
}
