package message

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplateNeedsAHeaderSection: a --message template that is not a
// header section, an empty line and a body is refused, saying which line
// is wrong, rather than sent with our Message-ID after its body text.
func TestTemplateNeedsAHeaderSection(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       string // "" when accepted
	}{
		{"body only", "just a body line\n", `line 1 "just a body line" is not a header field`},
		{"no empty line before the body", "Subject: hi\nbody\n", `line 2 "body"`},
		{"starts with an empty line", "\nbody\n", "starts with an empty line"},
		{"space in a field name", "Sub ject: hi\n\nbody\n", "line 1"},
		{"folded field", "Subject: hi\n  there\nFrom: a@example.com\n\nbody\n", ""},
		{"headers only", "Subject: hi\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".eml")
			os.WriteFile(p, []byte(tc.text), 0o644)
			_, err := Prepare(Spec{Template: p, Seed: 1})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
