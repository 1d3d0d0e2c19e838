package metrics

import "github.com/smtpbench/smtpbench/session"

// TLSCounts counts completed TLS handshakes: full and resumed, and the
// protocol versions and cipher suites they agreed on. The maps stay nil in
// plaintext runs.
type TLSCounts struct {
	Full, Resumed int64
	Versions      map[uint16]int64
	CipherSuites  map[uint16]int64
}

// ObserveTLS implements session.TLSObserver.
func (r *Recorder) ObserveTLS(i session.TLSInfo) { r.TLS.Add(i) }

// Add counts one handshake.
func (t *TLSCounts) Add(i session.TLSInfo) {
	if i.Resumed {
		t.Resumed++
	} else {
		t.Full++
	}
	if t.Versions == nil {
		t.Versions, t.CipherSuites = map[uint16]int64{}, map[uint16]int64{}
	}
	t.Versions[i.Version]++
	t.CipherSuites[i.CipherSuite]++
}

// Merge adds o into t.
func (t *TLSCounts) Merge(o *TLSCounts) {
	t.Full += o.Full
	t.Resumed += o.Resumed
	if o.Versions == nil {
		return
	}
	if t.Versions == nil {
		t.Versions, t.CipherSuites = map[uint16]int64{}, map[uint16]int64{}
	}
	for k, n := range o.Versions {
		t.Versions[k] += n
	}
	for k, n := range o.CipherSuites {
		t.CipherSuites[k] += n
	}
}
