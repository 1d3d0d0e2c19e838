package session

import (
	"errors"
	"strings"
	"testing"
)

// TestExplainCutsAtAWord: a long reason is cut at a word boundary, and the
// x509 reason loses its prefix and afterthought rather than its end.
func TestExplainCutsAtAWord(t *testing.T) {
	long := "the server's certificate did not verify: certificate signed by unknown authority while trying to verify candidate authority certificate"
	got := shorten(long, maxExplain)
	if len(got) > maxExplain || !strings.HasSuffix(got, "...") {
		t.Fatalf("shorten: %q (%d bytes)", got, len(got))
	}
	cut := strings.TrimSuffix(got, "...")
	if !strings.HasPrefix(long, cut) || long[len(cut)] != ' ' {
		t.Errorf("cut mid-word: %q", got)
	}
	if s := shorten(strings.Repeat("ü", 100), 20); len(s) > 20 || !strings.HasSuffix(s, "...") || strings.ContainsRune(s, '\uFFFD') {
		t.Errorf("one long word: %q", s)
	}
	if s := shorten("short", maxExplain); s != "short" {
		t.Errorf("a short reason changed: %q", s)
	}
	r := x509Reason(errors.New(`x509: certificate signed by unknown authority (possibly because of "crypto/rsa: verification error" while trying to verify candidate authority certificate "x")`))
	if r != "certificate signed by unknown authority" {
		t.Errorf("x509Reason: %q", r)
	}
}

// TestPipeliningOutcomeAfterEHLO: sessions that passed EHLO and then failed
// (a certificate, say) did get as far as EHLO, and the report says so.
func TestPipeliningOutcomeAfterEHLO(t *testing.T) {
	s := NewPipeliningState()
	if _, why := s.Outcome(PipeliningAuto); why != "no session got as far as EHLO" {
		t.Errorf("nothing seen: %q", why)
	}
	s.sawFirstEHLO()
	if _, why := s.Outcome(PipeliningAuto); strings.Contains(why, "as far as EHLO") || !strings.Contains(why, "past EHLO") {
		t.Errorf("after EHLO: %q", why)
	}
}
