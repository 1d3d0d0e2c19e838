package session_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/smtpbench/smtpbench/internal/testpki"
	"github.com/smtpbench/smtpbench/session"
)

// TestLoadTLS reads real PEM files into a client configuration, and names
// the setting and the kind of failure for each file that cannot be used.
func TestLoadTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testpki.WritePEMs(t, dir)
	cfg, err := session.LoadTLS(session.TLSFiles{CA: certFile, Cert: certFile, Key: keyFile, ServerName: "mx.test",
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, Resume: true, Sessions: 4})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ClientSessionCache == nil || cfg.ServerName != "mx.test" || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("config %+v", cfg)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, c := range []struct {
		name       string
		files      session.TLSFiles
		field      string
		unreadable bool
		reason     error
	}{
		{"CA missing", session.TLSFiles{CA: missing}, "CA", true, os.ErrNotExist},
		{"CA not PEM", session.TLSFiles{CA: keyFile}, "CA", false, session.ErrNoPEMCert},
		{"cert alone", session.TLSFiles{Cert: certFile}, "KeyPair", false, session.ErrCertKeyPair},
		{"key missing", session.TLSFiles{Cert: certFile, Key: missing}, "Key", true, os.ErrNotExist},
		{"key is a cert", session.TLSFiles{Cert: certFile, Key: certFile}, "KeyPair", false, nil},
	} {
		_, err := session.LoadTLS(c.files)
		var le *session.LoadError
		if !errors.As(err, &le) || le.Field != c.field || le.Unreadable != c.unreadable || (c.reason != nil && !errors.Is(err, c.reason)) {
			t.Errorf("%s: %#v", c.name, err)
		}
	}
}

// TestLoadSecret reads one line, refuses empty and multi-line secrets, and
// reports a file every user can read.
func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	s, exposed, err := session.LoadSecret(write("ok", "s3cret\r\n", 0o600))
	if err != nil || s != "s3cret" || exposed != 0 {
		t.Errorf("LoadSecret = %q, %o, %v", s, exposed, err)
	}
	_, exposed, err = session.LoadSecret(write("open", "s3cret\n", 0o644))
	if err != nil || (runtime.GOOS != "windows" && exposed != 0o644) {
		t.Errorf("world-readable: %o, %v", exposed, err)
	}
	if _, _, err := session.LoadSecret(write("empty", "\n", 0o600)); !errors.Is(err, session.ErrSecretEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, _, err := session.LoadSecret(write("two", "a\nb\n", 0o600)); !errors.Is(err, session.ErrSecretOneLine) {
		t.Errorf("two lines: %v", err)
	}
	var le *session.LoadError
	if _, _, err := session.LoadSecret(filepath.Join(dir, "none")); !errors.As(err, &le) || !le.Unreadable || le.Field != "PasswordFile" {
		t.Errorf("missing: %v", err)
	}
}

// TestDefaultPort: a target without a port gets 465 under implicit TLS
// and 25 otherwise; a port given is kept.
func TestDefaultPort(t *testing.T) {
	for _, c := range []struct {
		arg  string
		mode session.TLSMode
		want string
	}{
		{"mx.test", session.TLSImplicit, "mx.test:465"},
		{"[::1]", session.TLSImplicit, "[::1]:465"},
		{"mx.test:587", session.TLSImplicit, "mx.test:587"},
		{"mx.test", session.TLSStartTLS, "mx.test:25"},
		{"unix:/run/smtp.sock", session.TLSImplicit, "unix:/run/smtp.sock"},
	} {
		if got, err := session.ParseTargetPort(c.arg, session.DefaultPort(c.mode)); err != nil || got != c.want {
			t.Errorf("%s under %v: %q, %v; want %q", c.arg, c.mode, got, err, c.want)
		}
	}
}
