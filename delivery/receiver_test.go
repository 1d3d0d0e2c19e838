package delivery

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenRefusals: a receiver specification that cannot work is a
// *UsageError holding the specification and the reason, naming no
// command-line flag, and Text words it with the caller's name.
func TestOpenRefusals(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notMaildir := t.TempDir()
	cases := []struct {
		name, spec, value, reason string
		cause                     error // errors.Is reaches it, when set
	}{
		{"nothing", "", "", "want ADDR or maildir:DIR", nil},
		{"maildir without a directory", "maildir:", "maildir:", "want a directory", nil},
		{"not a maildir", "maildir:" + notMaildir, "maildir:" + notMaildir, "not a readable Maildir", os.ErrNotExist},
		// The words and errno of a busy address differ between systems:
		// only that the cause is kept is checked.
		{"address in use", busy.Addr().String(), busy.Addr().String(), "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rcv, err := Open(tc.spec)
			if err == nil {
				rcv.Stop()
				t.Fatalf("Open(%q) accepted it", tc.spec)
			}
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Value != tc.value || !strings.Contains(ue.Reason, tc.reason) {
				t.Fatalf("Open(%q) = %v (%+v), want a *UsageError of value %q saying %q", tc.spec, err, ue, tc.value, tc.reason)
			}
			if tc.value != "" && tc.value != "maildir:" && ue.Err == nil {
				t.Errorf("%v keeps no cause", err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("%v does not unwrap to %v", err, tc.cause)
			}
			if strings.Contains(err.Error(), "--") {
				t.Errorf("%q names a flag", err)
			}
			want := "--flag"
			if tc.value != "" {
				want += " " + tc.value
			}
			if got := ue.Text("--flag"); !strings.HasPrefix(got, want+": ") {
				t.Errorf("Text = %q, want it to start %q", got, want+": ")
			}
		})
	}
	// A real Maildir opens.
	box := t.TempDir()
	for _, sub := range []string{"new", "cur"} {
		if err := os.Mkdir(filepath.Join(box, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open("maildir:" + box); err != nil {
		t.Errorf("a Maildir: %v", err)
	}
}
