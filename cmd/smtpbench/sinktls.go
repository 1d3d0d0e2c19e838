package main

import (
	"errors"
	"fmt"

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
	desc, err := sink.Security{Cert: f.cert, Key: f.key, NoTLS: f.noTLS, ImplicitTLS: f.implicit,
		Users: f.users, RequireTLS: f.requireTLS, RequireAuth: f.requireAuth}.Apply(cfg, listen)
	if err != nil {
		return "", f.loadError(err)
	}
	return desc, nil
}

// loadError names the flag behind a sink.LoadError: a file that cannot be
// read is exit 1, content that cannot be used is a usage error.
func (f *sinkSecFlags) loadError(err error) error {
	var le *sink.LoadError
	if !errors.As(err, &le) {
		return exitError{exitRun, err.Error()}
	}
	flag := map[string]string{"Cert": "--cert", "Key": "--key", "Users": "--users"}[le.Field]
	switch {
	case le.Unreadable:
		return exitError{exitRun, fmt.Sprintf("%s: %v", flag, le.Err)}
	case le.Field == "KeyPair":
		return usagef("--cert %s --key %s: %v", f.cert, f.key, le.Err)
	}
	return usagef("%s %s: %v", flag, le.Value, le.Err)
}
