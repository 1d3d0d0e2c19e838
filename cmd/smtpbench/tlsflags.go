package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/smtpbench/smtpbench/internal/readlimit"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
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
type security struct {
	mode   session.TLSMode
	tlsCfg *tls.Config // nil with --tls none
	auth   *session.AuthOptions
	cj     *tlsConfigJSON
	aj     *authConfigJSON
}

// tlsConfigJSON is the report's config.tls object.
type tlsConfigJSON struct {
	Mode       string `json:"mode"`
	CA         string `json:"ca,omitempty"`
	Insecure   bool   `json:"insecure"`
	SNI        string `json:"sni,omitempty"`
	MinVersion string `json:"min_version"`
	MaxVersion string `json:"max_version"`
	ClientCert string `json:"client_cert,omitempty"`
	Resume     bool   `json:"resume"`
}

// authConfigJSON is the report's config.auth object. It says where the
// secret came from, never what it is.
type authConfigJSON struct {
	Mechanism        string `json:"mechanism"`
	User             string `json:"user"`
	SecretFrom       string `json:"secret_from"`
	PlaintextAllowed bool   `json:"plaintext_allowed"`
}

// load checks the flags and reads the files they name: a file that cannot
// be read is exit 1 (as --data), a bad value or file content is a usage
// error. A password file every user can read gets a warning on stderr.
func (f *secFlags) load(fset *pflag.FlagSet, concurrency int, stderr io.Writer) (*security, error) {
	mode, err := session.ParseTLSMode(f.tls)
	if err != nil {
		return nil, usagef("--tls: %v", err)
	}
	s := &security{mode: mode}
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
	cfg := &tls.Config{InsecureSkipVerify: f.insecure}
	s.cj = &tlsConfigJSON{Mode: s.mode.String(), CA: f.ca, Insecure: f.insecure, SNI: f.sni,
		MinVersion: f.tlsMin, MaxVersion: f.tlsMax, ClientCert: f.cert, Resume: f.resume}
	versions := map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}
	if cfg.MinVersion = versions[f.tlsMin]; cfg.MinVersion == 0 {
		return usagef("--tls-min %q: want 1.2 or 1.3", f.tlsMin)
	}
	if cfg.MaxVersion = versions[f.tlsMax]; cfg.MaxVersion == 0 {
		return usagef("--tls-max %q: want 1.2 or 1.3", f.tlsMax)
	}
	if cfg.MaxVersion < cfg.MinVersion {
		return usagef("--tls-max %s is below --tls-min %s", f.tlsMax, f.tlsMin)
	}
	if f.sni != "" {
		if strings.ContainsAny(f.sni, " \t\r\n/:") {
			return usagef("--sni %q: want a host name", f.sni)
		}
		cfg.ServerName = f.sni
	}
	if f.ca != "" {
		if f.insecure {
			return usagef("--ca and --insecure exclude each other: --insecure verifies nothing")
		}
		pem, err := readSmallFile(f.ca, maxPEMFile)
		if err != nil {
			return exitError{exitRun, fmt.Sprintf("--ca: %v", err)}
		}
		cfg.RootCAs = systemRoots()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return usagef("--ca %s: no PEM certificate in the file", f.ca)
		}
	}
	if (f.cert == "") != (f.key == "") {
		return usagef("--cert and --key go together")
	}
	if f.cert != "" {
		certPEM, err := readSmallFile(f.cert, maxPEMFile)
		if err != nil {
			return exitError{exitRun, fmt.Sprintf("--cert: %v", err)}
		}
		keyPEM, err := readSmallFile(f.key, maxPEMFile)
		if err != nil {
			return exitError{exitRun, fmt.Sprintf("--key: %v", err)}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return usagef("--cert %s --key %s: %v", f.cert, f.key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if f.resume {
		// One cache for the run, so any session resumes from the latest
		// ticket of any other; a few entries per target suffice.
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(max(concurrency, 64))
	}
	s.tlsCfg = cfg
	return nil
}

// systemRoots is the system's trust store, or an empty pool where there is
// none to read.
func systemRoots() *x509.CertPool {
	if p, err := x509.SystemCertPool(); err == nil && p != nil {
		return p
	}
	return x509.NewCertPool()
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
	if s.mode == session.TLSNone && !f.authPlaintext {
		return usagef("--user without TLS would send the password in the clear: use --tls, or allow it with --auth-plaintext (RFC 4954 4)")
	}
	a := &session.AuthOptions{Mech: mech, User: f.user, AllowPlaintext: f.authPlaintext}
	from := "file"
	switch {
	case f.passwordFile != "":
		secret, err := readSecret(f.passwordFile, stderr)
		if err != nil {
			return err
		}
		a.Secret = secret
	case os.Getenv(passwordEnv) != "":
		from = "environment"
		a.Secret = session.Secret(os.Getenv(passwordEnv))
	default:
		return usagef("--user needs a password: give --password-file FILE or set %s", passwordEnv)
	}
	s.auth = a
	s.aj = &authConfigJSON{Mechanism: mech.String(), User: f.user, SecretFrom: from, PlaintextAllowed: f.authPlaintext}
	return nil
}

// readSecret reads a one-line secret; the line end is not part of it.
func readSecret(name string, stderr io.Writer) (session.Secret, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return "", exitError{exitRun, fmt.Sprintf("--password-file: %v", err)}
	}
	b, err := readSmallFile(name, maxSecretFile)
	if err != nil {
		return "", exitError{exitRun, fmt.Sprintf("--password-file: %v", err)}
	}
	if perm := fi.Mode().Perm(); perm&0o004 != 0 && runtime.GOOS != "windows" {
		fmt.Fprintf(stderr, "smtpbench run: warning: --password-file %s can be read by every user of this machine (mode %04o); chmod 600 it\n", name, perm)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	clear(b)
	if s == "" {
		return "", usagef("--password-file %s is empty", name)
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", usagef("--password-file %s: the password must be one line", name)
	}
	return session.Secret(s), nil
}

// parseTarget is session.ParseTarget with the implicit-TLS port (465,
// RFC 8314 7.3) as the default under --tls implicit. Each session verifies
// the host it dialed unless --sni names another.
func (s *security) parseTarget(arg string) (string, error) {
	addr, err := session.ParseTarget(arg)
	if err != nil {
		return "", err
	}
	if _, _, err := net.SplitHostPort(arg); err != nil && s.mode == session.TLSImplicit {
		host, _, _ := net.SplitHostPort(addr)
		addr = net.JoinHostPort(host, session.ImplicitTLSPort)
	}
	return addr, nil
}

// builtinSink configures the in-process sink to match: TLS as asked, with
// a certificate made now that the run trusts, and every worker's user
// name with the given secret.
func (s *security) builtinSink(concurrency int) (sink.Config, error) {
	var cfg sink.Config
	if s.tlsCfg != nil {
		cert, err := sink.SelfSigned("localhost", "127.0.0.1", "::1")
		if err != nil {
			return cfg, err
		}
		cfg.TLS, cfg.ImplicitTLS = sink.ServerTLS(cert), s.mode == session.TLSImplicit
		if s.tlsCfg.RootCAs == nil {
			s.tlsCfg.RootCAs = systemRoots()
		}
		s.tlsCfg.RootCAs.AddCert(cert.Leaf)
	}
	if s.auth != nil {
		cfg.Users = map[string]string{}
		for w := 1; w <= concurrency; w++ {
			cfg.Users[s.auth.UserFor(w)] = string(s.auth.Secret)
		}
	}
	return cfg, nil
}

// apply puts TLS and AUTH into the run's configuration and its JSON echo.
// extra are the --target values, parsed into cfg.Targets in order: under
// --tls implicit those without a port get 465, as the main target does.
func (s *security) apply(cfg *loadgen.Config, cj *runConfigJSON, extra []string) {
	for i, v := range extra {
		if s.mode != session.TLSImplicit || i >= len(cfg.Targets) {
			break
		}
		if j := strings.LastIndexByte(v, '='); j >= 0 {
			v = v[:j]
		}
		if _, _, err := net.SplitHostPort(v); err == nil || strings.HasPrefix(v, "unix:") {
			continue
		}
		t := &cfg.Targets[i]
		host, _, _ := net.SplitHostPort(t.Addr)
		t.Addr = net.JoinHostPort(host, session.ImplicitTLSPort)
		if k := len(cj.Targets) - len(cfg.Targets) + i; k >= 0 && k < len(cj.Targets) {
			cj.Targets[k] = t.Addr + "=" + strconv.Itoa(t.Weight)
		}
	}
	cfg.Session.TLS = session.TLSOptions{Mode: s.mode, Config: s.tlsCfg}
	cfg.Session.Auth = s.auth
	cj.TLS, cj.Auth = s.cj, s.aj
}

// warnings are the report's words on what was not checked.
func (s *security) warnings() []string {
	if s.tlsCfg != nil && s.tlsCfg.InsecureSkipVerify {
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
	case strings.HasPrefix(firstError, "tls: handshake") && s.mode == session.TLSImplicit && strings.Contains(firstError, "plain SMTP"):
		return " (on a plaintext port use --tls starttls or --tls none)"
	case strings.HasPrefix(firstError, "banner: timeout") && s.mode != session.TLSImplicit:
		return "; for TLS on connect (port 465) use --tls implicit"
	case strings.HasPrefix(firstError, "tls: unsupported"):
		return " (--tls opportunistic goes on without TLS)"
	}
	return ""
}

// Bounds on the files the TLS and AUTH flags read: a CA bundle is a few
// hundred KB, a password a line. A larger file (or /dev/zero) is refused
// rather than read without end.
const (
	maxPEMFile    = 16 << 20
	maxSecretFile = 64 << 10
)

// readSmallFile reads name, refusing files longer than limit. These files
// are small, so a device is read up to the limit rather than refused.
func readSmallFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readlimit.Reader(f, name, limit)
}
