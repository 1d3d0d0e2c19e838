package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/sink"
)

// sinkSecFlags are the sink's TLS and AUTH flags.
type sinkSecFlags struct{ sink.Security }

func (f *sinkSecFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Cert, "cert", "", "server certificate (PEM) for TLS; default: a self-signed ECDSA P-256 certificate made at start")
	fs.StringVar(&f.Key, "key", "", "private key (PEM) of --cert")
	fs.BoolVar(&f.ImplicitTLS, "implicit-tls", false, "speak TLS from the first byte (RFC 8314, as on port 465) instead of offering STARTTLS")
	fs.BoolVar(&f.NoTLS, "no-tls", false, "offer no TLS at all")
	fs.StringVar(&f.Users, "users", "", "offer AUTH PLAIN, LOGIN and CRAM-MD5 for the user:password lines of this file")
	fs.BoolVar(&f.RequireTLS, "require-tls", false, "refuse MAIL (530) before STARTTLS, and AUTH (538) outside TLS")
	fs.BoolVar(&f.RequireAuth, "require-auth", false, "refuse MAIL (530) before a successful AUTH")
}

// apply sets up TLS and AUTH on cfg and describes the result for the
// "listening" line. A file that cannot be read is exit 1, content or
// settings that cannot be used a usage error.
func (f *sinkSecFlags) apply(cfg *sink.Config, listen string) (string, error) {
	desc, err := f.Security.Apply(cfg, listen)
	var le *sink.LoadError
	var se *sink.SpecError
	switch {
	case err == nil:
		return desc, nil
	case errors.As(err, &se):
		return "", usagef("%s", se.Explain(func(field string) string { return "--" + sinkFlags[field] }))
	case !errors.As(err, &le):
		return "", exitError{exitRun, err.Error()}
	case le.Unreadable:
		return "", exitError{exitRun, fmt.Sprintf("--%s: %v", sinkFlags[le.Field], le.Err)}
	case le.Field == "KeyPair":
		return "", usagef("--cert %s --key %s: %v", f.Cert, f.Key, le.Err)
	}
	return "", usagef("--%s %s: %v", sinkFlags[le.Field], le.Value, le.Err)
}
