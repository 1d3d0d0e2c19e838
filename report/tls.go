package report

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// TLSReport is the JSON "tls" object, present when any handshake completed.
type TLSReport struct {
	// HandshakesFull and HandshakesResumed count completed handshakes:
	// full ones, and those that resumed a cached session (RFC 8446 2.2).
	HandshakesFull    int64 `json:"handshakes_full"`
	HandshakesResumed int64 `json:"handshakes_resumed"`
	// Versions counts handshakes by protocol version ("TLS 1.3").
	Versions map[string]int64 `json:"versions"`
	// CipherSuites counts handshakes by cipher suite, by its IANA name.
	CipherSuites map[string]int64 `json:"cipher_suites"`
}

func tlsReport(t *metrics.TLSCounts) *TLSReport {
	if t.Full+t.Resumed == 0 {
		return nil
	}
	j := &TLSReport{HandshakesFull: t.Full, HandshakesResumed: t.Resumed,
		Versions: map[string]int64{}, CipherSuites: map[string]int64{}}
	for v, n := range t.Versions {
		j.Versions[tls.VersionName(v)] += n
	}
	for c, n := range t.CipherSuites {
		j.CipherSuites[tls.CipherSuiteName(c)] += n
	}
	return j
}

// tlsLine is the table's "tls" line.
func tlsLine(j *TLSReport) string {
	if j == nil {
		return ""
	}
	return fmt.Sprintf("tls         %d handshakes: %d full, %d resumed; %s; %s\n",
		j.HandshakesFull+j.HandshakesResumed, j.HandshakesFull, j.HandshakesResumed, countList(j.Versions), countList(j.CipherSuites))
}

// countList renders name → count as "a x3, b x1", most frequent first.
func countList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// errorMeaning explains in one line the failures of TLS and AUTH, whose
// class and code alone say little to most readers; "" for the others.
func errorMeaning(k metrics.ErrorKey) string {
	switch k.Code {
	case session.CodeAuthTemporary:
		if k.Phase == session.PhaseTLS {
			return "TLS not available for a temporary reason (RFC 3207 4)"
		}
		return "temporary authentication failure (RFC 4954 6)"
	case session.CodeAuthRequired:
		return "the server wants authentication, or TLS, first (RFC 4954 6)"
	case session.CodeAuthTooWeak:
		return "the server finds this AUTH mechanism too weak (RFC 4954 6)"
	case session.CodeAuthInvalid:
		return "authentication credentials invalid: wrong user or password (RFC 4954 6)"
	case session.CodeAuthEncryptionRequired:
		return "the server requires TLS for this AUTH mechanism (RFC 4954 6)"
	}
	switch {
	case k.Class == session.ClassCertificate:
		return "the server's certificate did not verify: trust its CA with --ca, or skip the check with --insecure"
	case k.Class == session.ClassHandshake:
		return "the TLS handshake failed: no common version or cipher suite, or no TLS on that port"
	case k.Class == session.ClassUnsupported && k.Phase == session.PhaseTLS:
		return "the server does not offer STARTTLS"
	case k.Class == session.ClassUnsupported && k.Phase == session.PhaseAuth:
		return "the server does not offer the AUTH mechanism asked for, or AUTH would have gone without TLS"
	case k.Class == session.ClassProtocol && k.Phase == session.PhaseTLS:
		return "the STARTTLS exchange broke the protocol, e.g. data after the 220 (response injection)"
	case k.Class == session.ClassProtocol && k.Phase == session.PhaseAuth:
		return "the AUTH exchange broke the protocol"
	case k.Class == session.ClassTimeout && k.Phase == session.PhaseTLS:
		return "no reply to STARTTLS, or no TLS handshake, within --timeout"
	}
	return ""
}

// writeMeanings adds, under the errors table, one line per TLS or AUTH
// error row saying what it means.
func writeMeanings(b *strings.Builder, errs []ErrorCount) {
	for _, e := range errs {
		if e.Meaning == "" {
			continue
		}
		what := e.Class
		if e.Code != 0 {
			what = strconv.Itoa(e.Code)
		}
		fmt.Fprintf(b, "  meaning (%s %s): %s\n", e.Phase, what, e.Meaning)
	}
}
