// Package testpki writes the certificate files tests load: a self-signed
// certificate made by the sink and its key, as PEM.
package testpki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/smtpbench/smtpbench/sink"
)

// WritePEMs writes a self-signed certificate for 127.0.0.1 and its key as
// cert.pem and key.pem in dir.
func WritePEMs(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	cert, err := sink.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, b := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: cert.Certificate[0]}, keyFile: {Type: "PRIVATE KEY", Bytes: key}} {
		if err := os.WriteFile(name, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}
