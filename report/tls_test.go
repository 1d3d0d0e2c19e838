package report

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// tlsResult is a run whose sessions used TLS and AUTH: 3 full and 7 resumed
// handshakes, one session refused with 535 and one without a trusted
// certificate.
func tlsResult() *Result {
	a, b := metrics.NewRecorder(false), metrics.NewRecorder(false)
	for i := 0; i < 10; i++ {
		rec := a
		if i%2 == 1 {
			rec = b
		}
		rec.Observe(session.PhaseTLS, 220, time.Millisecond)
		rec.ObserveTLS(session.TLSInfo{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, Resumed: i >= 3})
		rec.Observe(session.PhaseAuth, 235, 100*time.Microsecond)
		rec.Message(&session.Result{Outcome: session.OutcomeOK, RcptAccepted: 1})
		rec.Connections++
	}
	b.Observe(session.PhaseAuth, 535, 100*time.Microsecond)
	b.Message(&session.Result{Outcome: session.OutcomeFailed,
		Err: &session.Error{Phase: session.PhaseAuth, Class: session.ClassPermReject, Code: 535}})
	b.Message(&session.Result{Outcome: session.OutcomeFailed,
		Err: &session.Error{Phase: session.PhaseTLS, Class: session.ClassCertificate}})
	a.Merge(b)
	return &Result{Target: "127.0.0.1:587", Elapsed: time.Second, StopReason: "messages", Total: a}
}

func TestTLSCountsInReports(t *testing.T) {
	res := tlsResult()
	var tb bytes.Buffer
	if err := WriteTable(&tb, res); err != nil {
		t.Fatal(err)
	}
	table := tb.String()
	for _, want := range []string{
		"tls         10 handshakes: 3 full, 7 resumed; TLS 1.3 x10; TLS_AES_128_GCM_SHA256 x10\n",
		"  meaning (auth 535): authentication credentials invalid: wrong user or password (RFC 4954 6)\n",
		"  meaning (tls certificate): the server's certificate did not verify",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	for _, row := range []string{`\n +tls +10 `, `\n +auth +11 `} {
		if !regexp.MustCompile(row).MatchString(table) {
			t.Errorf("table has no phase row matching %q:\n%s", row, table)
		}
	}

	var jb bytes.Buffer
	if err := WriteJSON(&jb, res); err != nil {
		t.Fatal(err)
	}
	var j JSONReport
	if err := json.Unmarshal(jb.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	want := TLSReport{HandshakesFull: 3, HandshakesResumed: 7,
		Versions: map[string]int64{"TLS 1.3": 10}, CipherSuites: map[string]int64{"TLS_AES_128_GCM_SHA256": 10}}
	if j.TLS == nil || j.TLS.HandshakesFull != want.HandshakesFull || j.TLS.HandshakesResumed != want.HandshakesResumed ||
		j.TLS.Versions["TLS 1.3"] != 10 || j.TLS.CipherSuites["TLS_AES_128_GCM_SHA256"] != 10 {
		t.Errorf("JSON tls %+v, want %+v", j.TLS, want)
	}
	if j.Phases["tls"].Count != 10 || j.Phases["auth"].Count != 11 || j.Replies["auth"]["535"] != 1 {
		t.Errorf("phases tls %d auth %d, auth replies %v", j.Phases["tls"].Count, j.Phases["auth"].Count, j.Replies["auth"])
	}
	if len(j.Errors) != 2 || j.Errors[0].Phase != "tls" || j.Errors[0].Meaning == "" || j.Errors[1].Code != 535 {
		t.Errorf("errors %+v", j.Errors)
	}
}

func TestNoTLSNoTLSReport(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, fixedResult()); err != nil {
		t.Fatal(err)
	}
	var j struct {
		TLS    *TLSReport `json:"tls"`
		Errors []ErrorCount
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.TLS != nil || bytes.Contains(b.Bytes(), []byte(`"meaning"`)) {
		t.Errorf("a plaintext run's JSON has a tls block or error meanings:\n%s", b.Bytes())
	}
}
