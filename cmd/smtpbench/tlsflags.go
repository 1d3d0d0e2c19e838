package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/session"
)

// passwordEnv names the environment variable that may hold the AUTH
// secret. The secret is never a flag: flags show up in ps and in shell
// history.
const passwordEnv = "SMTPBENCH_PASSWORD"

// secFlags are run's TLS and AUTH flags.
type secFlags struct{ loadgen.SecuritySpec }

func (f *secFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.TLS, "tls", "none", "TLS: none, starttls (required), opportunistic (STARTTLS when offered) or implicit (TLS from the first byte; port 465 by default)")
	fs.StringVar(&f.CA, "ca", "", "also trust the CA certificates in this PEM file")
	fs.BoolVar(&f.Insecure, "insecure", false, "do not verify the server's certificate (the report says so)")
	fs.StringVar(&f.SNI, "sni", "", "server name to send (SNI) and to verify the certificate against (default: the target's host)")
	fs.StringVar(&f.TLSMin, "tls-min", "1.2", "lowest TLS version to accept: 1.2 or 1.3")
	fs.StringVar(&f.TLSMax, "tls-max", "1.3", "highest TLS version to offer: 1.2 or 1.3 (1.2 to load a server the way older clients do)")
	fs.StringVar(&f.Cert, "cert", "", "client certificate (PEM) to present; needs --key")
	fs.StringVar(&f.Key, "key", "", "private key (PEM) of --cert")
	fs.BoolVar(&f.Resume, "tls-resume", true, "resume TLS sessions on new connections (false: a full handshake every time)")
	fs.StringVar(&f.Auth, "auth", "", "AUTH mechanism: plain, login, cram-md5, xoauth2 (default with --user: the strongest the server offers of cram-md5, plain, login)")
	fs.StringVar(&f.User, "user", "", "AUTH user name; {w} is the worker number (1 to -c), so each session can log in as its own account")
	fs.StringVar(&f.PasswordFile, "password-file", "", "read the AUTH password (xoauth2: the token) from this file, else from $"+passwordEnv)
	fs.BoolVar(&f.AuthPlaintext, "auth-plaintext", false, "allow AUTH on a connection without TLS (RFC 4954 4 advises against it)")
}

// security is what the TLS and AUTH flags resolve to, files read.
type security struct{ loadgen.Security }

// load checks the flags and reads the files they name: a file that cannot
// be read is exit 1 (as --data), a bad value or file content is a usage
// error. A password file every user can read gets a warning on stderr.
func (f *secFlags) load(fset *pflag.FlagSet, concurrency int, stderr io.Writer) (*security, error) {
	spec := f.SecuritySpec
	spec.Sessions, spec.Secret, spec.SecretFrom = concurrency, os.Getenv(passwordEnv), "environment"
	spec.Given = func(field string) bool { return fset.Changed(strings.TrimPrefix(flagName(field), "--")) }
	spec.Exposed = func(mode uint32) {
		fmt.Fprintf(stderr, "smtpbench run: warning: --password-file %s can be read by every user of this machine (mode %04o); chmod 600 it\n", f.PasswordFile, mode)
	}
	sec, err := spec.Load()
	if err != nil {
		return nil, f.loadError(err)
	}
	return &security{*sec}, nil
}

// loadError names the flag behind a refusal: a file that cannot be read is
// exit 1 (as --data), a value or content that cannot be used is a usage
// error.
func (f *secFlags) loadError(err error) error {
	var ce *loadgen.ConfigError
	if errors.As(err, &ce) {
		return usagef("%s", ce.Explain(flagName))
	}
	var le *session.LoadError
	if !errors.As(err, &le) {
		return exitError{exitRun, err.Error()}
	}
	flag := flagName(le.Field)
	switch {
	case le.Unreadable:
		return exitError{exitRun, fmt.Sprintf("%s: %v", flag, le.Err)}
	case errors.Is(err, session.ErrCertKeyPair):
		return usagef("--cert and --key go together")
	case le.Field == "KeyPair":
		return usagef("--cert %s --key %s: %v", f.Cert, f.Key, le.Err)
	case errors.Is(err, session.ErrSecretEmpty):
		return usagef("%s %s is empty", flag, le.Value)
	}
	return usagef("%s %s: %v", flag, le.Value, le.Err)
}

// warnings are the report's words on what was not checked.
func (s *security) warnings() []string {
	if s.TLS != nil && s.TLS.InsecureSkipVerify {
		return []string{"--insecure: the server's certificate was not verified, so its identity was not checked"}
	}
	return nil
}
