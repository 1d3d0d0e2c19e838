package sink_test

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/smtpbench/smtpbench/internal/testpki"
	"github.com/smtpbench/smtpbench/sink"
)

// TestLoadCertAndUsers reads the server's files and names the setting and
// the kind of failure for each that cannot be used.
func TestLoadCertAndUsers(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testpki.WritePEMs(t, dir)
	users := filepath.Join(dir, "users")
	os.WriteFile(users, []byte("alice:pw1\nbob:pw2\n"), 0o600)
	if got, err := sink.LoadCert(certFile, keyFile); err != nil || len(got.Certificate) != 1 {
		t.Errorf("LoadCert = %v, %v", got.Certificate, err)
	}
	if u, err := sink.LoadUsers(users); err != nil || u["bob"] != "pw2" || len(u) != 2 {
		t.Errorf("LoadUsers = %v, %v", u, err)
	}
	missing := filepath.Join(dir, "missing")
	check := func(name string, err error, field string, unreadable bool) {
		t.Helper()
		var le *sink.LoadError
		if !errors.As(err, &le) || le.Field != field || le.Unreadable != unreadable {
			t.Errorf("%s: %#v", name, err)
		}
	}
	_, err := sink.LoadCert(missing, keyFile)
	check("cert missing", err, "Cert", true)
	_, err = sink.LoadCert(certFile, certFile)
	check("key is a cert", err, "KeyPair", false)
	_, err = sink.LoadCert(certFile, "")
	check("cert alone", err, "KeyPair", false)
	_, err = sink.LoadUsers(missing)
	check("users missing", err, "Users", true)
	_, err = sink.LoadUsers(keyFile)
	check("users not user:password", err, "Users", false)
}

// TestSecurityApply sets TLS and AUTH on a configuration from files and
// describes what it set.
func TestSecurityApply(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	os.WriteFile(users, []byte("alice:pw1\nbob:pw2\n"), 0o600)
	var cfg sink.Config
	desc, err := sink.Security{ImplicitTLS: true, Users: users, RequireAuth: true}.Apply(&cfg, "127.0.0.2:0")
	if err != nil || desc != "implicit TLS with a self-signed ECDSA P-256 certificate made at start; AUTH PLAIN LOGIN CRAM-MD5 for 2 users; AUTH required" {
		t.Fatalf("Apply = %q, %v", desc, err)
	}
	if cfg.TLS == nil || !cfg.ImplicitTLS || !cfg.RequireAuth || cfg.Users["alice"] != "pw1" {
		t.Errorf("config %+v", cfg)
	}
	leaf, err := x509.ParseCertificate(cfg.TLS.Certificates[0].Certificate[0])
	if err != nil || leaf.VerifyHostname("127.0.0.2") != nil {
		t.Errorf("the self-signed certificate does not name the listening host: %v", err)
	}
	cfg = sink.Config{}
	if desc, err := (sink.Security{NoTLS: true}).Apply(&cfg, ""); err != nil || desc != "no TLS" || cfg.TLS != nil {
		t.Errorf("no TLS: %q, %v", desc, err)
	}
}
