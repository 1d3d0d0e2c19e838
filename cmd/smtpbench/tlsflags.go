package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// passwordEnv names the environment variable that may hold the AUTH
// secret. The secret is never a flag: flags show up in ps and in shell
// history.
const passwordEnv = "SMTPBENCH_PASSWORD"

// secFlags are run's TLS and AUTH flags.
type secFlags struct {
	tls           string
	ca            string
	insecure      bool
	sni           string
	tlsMin        string
	tlsMax        string
	cert, key     string
	resume        bool
	auth          string
	user          string
	passwordFile  string
	authPlaintext bool
}

func (f *secFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.tls, "tls", "none", "TLS: none, starttls (required), opportunistic (STARTTLS when offered) or implicit (TLS from the first byte; port 465 by default)")
	fs.StringVar(&f.ca, "ca", "", "also trust the CA certificates in this PEM file")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the server's certificate (the report says so)")
	fs.StringVar(&f.sni, "sni", "", "server name to send (SNI) and to verify the certificate against (default: the target's host)")
	fs.StringVar(&f.tlsMin, "tls-min", "1.2", "lowest TLS version to accept: 1.2 or 1.3")
	fs.StringVar(&f.tlsMax, "tls-max", "1.3", "highest TLS version to offer: 1.2 or 1.3 (1.2 to load a server the way older clients do)")
	fs.StringVar(&f.cert, "cert", "", "client certificate (PEM) to present; needs --key")
	fs.StringVar(&f.key, "key", "", "private key (PEM) of --cert")
	fs.BoolVar(&f.resume, "tls-resume", true, "resume TLS sessions on new connections (false: a full handshake every time)")
	fs.StringVar(&f.auth, "auth", "", "AUTH mechanism: plain, login, cram-md5, xoauth2 (default with --user: the strongest the server offers of cram-md5, plain, login)")
	fs.StringVar(&f.user, "user", "", "AUTH user name; {w} is the worker number (1 to -c), so each session can log in as its own account")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the AUTH password (xoauth2: the token) from this file, else from $"+passwordEnv)
	fs.BoolVar(&f.authPlaintext, "auth-plaintext", false, "allow AUTH on a connection without TLS (RFC 4954 4 advises against it)")
}

// security is what the TLS and AUTH flags resolve to, files read.
type security struct{ loadgen.Security }

// load checks the flags and reads the files they name: a file that cannot
// be read is exit 1 (as --data), a bad value or file content is a usage
// error. A password file every user can read gets a warning on stderr.
func (f *secFlags) load(fset *pflag.FlagSet, concurrency int, stderr io.Writer) (*security, error) {
	mode, err := session.ParseTLSMode(f.tls)
	if err != nil {
		return nil, usagef("--tls: %v", err)
	}
	s := &security{loadgen.Security{Mode: mode}}
	if mode == session.TLSNone {
		for _, name := range []string{"ca", "insecure", "sni", "tls-min", "tls-max", "cert", "key", "tls-resume"} {
			if fset.Changed(name) {
				return nil, usagef("--%s needs --tls starttls, opportunistic or implicit", name)
			}
		}
	} else if err := f.loadTLS(s, concurrency); err != nil {
		return nil, err
	}
	return s, f.loadAuth(s, fset, stderr)
}

func (f *secFlags) loadTLS(s *security, concurrency int) error {
	s.TLSEcho = &report.TLSConfig{Mode: s.Mode.String(), CA: f.ca, Insecure: f.insecure, SNI: f.sni,
		MinVersion: f.tlsMin, MaxVersion: f.tlsMax, ClientCert: f.cert, Resume: f.resume}
	files := session.TLSFiles{CA: f.ca, Insecure: f.insecure, Cert: f.cert, Key: f.key, Resume: f.resume, Sessions: concurrency}
	versions := map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}
	if files.MinVersion = versions[f.tlsMin]; files.MinVersion == 0 {
		return usagef("--tls-min %q: want 1.2 or 1.3", f.tlsMin)
	}
	if files.MaxVersion = versions[f.tlsMax]; files.MaxVersion == 0 {
		return usagef("--tls-max %q: want 1.2 or 1.3", f.tlsMax)
	}
	if files.MaxVersion < files.MinVersion {
		return usagef("--tls-max %s is below --tls-min %s", f.tlsMax, f.tlsMin)
	}
	if f.sni != "" {
		if strings.ContainsAny(f.sni, " \t\r\n/:") {
			return usagef("--sni %q: want a host name", f.sni)
		}
		files.ServerName = f.sni
	}
	if f.ca != "" && f.insecure {
		return usagef("--ca and --insecure exclude each other: --insecure verifies nothing")
	}
	cfg, err := session.LoadTLS(files)
	if err != nil {
		return f.loadError(err)
	}
	s.TLS = cfg
	return nil
}

// loadError names the flag behind a session.LoadError: a file that cannot
// be read is exit 1 (as --data), content that cannot be used is a usage
// error.
func (f *secFlags) loadError(err error) error {
	var le *session.LoadError
	if !errors.As(err, &le) {
		return exitError{exitRun, err.Error()}
	}
	flag := map[string]string{"CA": "--ca", "Cert": "--cert", "Key": "--key", "PasswordFile": "--password-file"}[le.Field]
	switch {
	case le.Unreadable:
		return exitError{exitRun, fmt.Sprintf("%s: %v", flag, le.Err)}
	case errors.Is(err, session.ErrCertKeyPair):
		return usagef("--cert and --key go together")
	case le.Field == "KeyPair":
		return usagef("--cert %s --key %s: %v", f.cert, f.key, le.Err)
	case errors.Is(err, session.ErrSecretEmpty):
		return usagef("%s %s is empty", flag, le.Value)
	}
	return usagef("%s %s: %v", flag, le.Value, le.Err)
}

func (f *secFlags) loadAuth(s *security, fset *pflag.FlagSet, stderr io.Writer) error {
	if f.user == "" {
		for _, name := range []string{"auth", "password-file", "auth-plaintext"} {
			if fset.Changed(name) {
				return usagef("--%s needs --user", name)
			}
		}
		return nil
	}
	if err := session.CheckUserTemplate(f.user); err != nil {
		return usagef("--user: %v", err)
	}
	mech := session.AuthAuto
	if f.auth != "" {
		var err error
		if mech, err = session.ParseAuthMech(f.auth); err != nil {
			return usagef("--auth: %v", err)
		}
	}
	if s.Mode == session.TLSNone && !f.authPlaintext {
		return usagef("--user without TLS would send the password in the clear: use --tls, or allow it with --auth-plaintext (RFC 4954 4)")
	}
	a := &session.AuthOptions{Mech: mech, User: f.user, AllowPlaintext: f.authPlaintext}
	from := "file"
	switch {
	case f.passwordFile != "":
		secret, exposed, err := session.LoadSecret(f.passwordFile)
		if exposed != 0 {
			fmt.Fprintf(stderr, "smtpbench run: warning: --password-file %s can be read by every user of this machine (mode %04o); chmod 600 it\n", f.passwordFile, exposed)
		}
		if err != nil {
			return f.loadError(err)
		}
		a.Secret = secret
	case os.Getenv(passwordEnv) != "":
		from = "environment"
		a.Secret = session.Secret(os.Getenv(passwordEnv))
	default:
		return usagef("--user needs a password: give --password-file FILE or set %s", passwordEnv)
	}
	s.Auth = a
	s.AuthEcho = &report.AuthConfig{Mechanism: mech.String(), User: f.user, SecretFrom: from, PlaintextAllowed: f.authPlaintext}
	return nil
}

// warnings are the report's words on what was not checked.
func (s *security) warnings() []string {
	if s.TLS != nil && s.TLS.InsecureSkipVerify {
		return []string{"--insecure: the server's certificate was not verified, so its identity was not checked"}
	}
	return nil
}

// hint adds a suggestion to the line that says why no session could be
// established, for the failures that a flag fixes.
func (s *security) hint(firstError string) string {
	switch {
	case strings.HasPrefix(firstError, "tls: certificate"):
		return " (trust the server's CA with --ca FILE, or skip the check with --insecure)"
	case strings.HasPrefix(firstError, "tls: handshake") && s.Mode == session.TLSImplicit && strings.Contains(firstError, "plain SMTP"):
		return " (on a plaintext port use --tls starttls or --tls none)"
	case strings.HasPrefix(firstError, "banner: timeout") && s.Mode != session.TLSImplicit:
		return "; for TLS on connect (port 465) use --tls implicit"
	case strings.HasPrefix(firstError, "tls: unsupported"):
		return " (--tls opportunistic goes on without TLS)"
	}
	return ""
}
