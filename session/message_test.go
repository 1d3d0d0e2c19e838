package session

import (
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		seq     uint64
		rcpt    int
		want    string
		wantErr bool
	}{
		{name: "literal", tmpl: "user@example.com", seq: 7, rcpt: 2, want: "user@example.com"},
		{name: "null sender", tmpl: "", want: ""},
		{name: "sequence", tmpl: "u{n}@example.com", seq: 42, rcpt: 1, want: "u42@example.com"},
		{name: "sequence zero", tmpl: "u{n}@x", seq: 0, want: "u0@x"},
		{name: "sequence max", tmpl: "{n}", seq: 1<<64 - 1, want: "18446744073709551615"},
		{name: "recipient", tmpl: "rcpt{r}@example.com", seq: 1, rcpt: 10, want: "rcpt10@example.com"},
		{name: "both", tmpl: "m{n}.r{r}@example.com", seq: 7, rcpt: 3, want: "m7.r3@example.com"},
		{name: "adjacent and repeated", tmpl: "{n}{r}{n}", seq: 7, rcpt: 3, want: "737"},
		{name: "braces that are not placeholders", tmpl: "a}b@x", want: "a}b@x"},
		{name: "CRLF injection", tmpl: "a@b\r\nRCPT TO:<c@d>", wantErr: true},
		{name: "LF", tmpl: "a\n@b", wantErr: true},
		{name: "CR", tmpl: "a\r@b", wantErr: true},
		{name: "angle brackets", tmpl: "<a@b>", wantErr: true},
		{name: "closing angle bracket", tmpl: "a>b@c", wantErr: true},
		{name: "opening angle bracket", tmpl: "a<b@c", wantErr: true},
		{name: "space", tmpl: "a b@c", wantErr: true},
		{name: "parameter injection", tmpl: "a@b SIZE=1", wantErr: true},
		{name: "unknown placeholder", tmpl: "{x}@b", wantErr: true},
		{name: "worker and connection", tmpl: "w{w}.c{c}@x", want: "w0.c0@x"},
		{name: "tab", tmpl: "a\tb@c", wantErr: true},
		{name: "date is content only", tmpl: "{date}@b", wantErr: true},
		{name: "rand without digits", tmpl: "{rand:}@b", wantErr: true},
		{name: "rand too long", tmpl: "{rand:65}@b", wantErr: true},
		{name: "upper-case placeholder", tmpl: "{N}@b", wantErr: true},
		{name: "empty placeholder", tmpl: "{}@b", wantErr: true},
		{name: "unclosed placeholder", tmpl: "a{n", wantErr: true},
		{name: "lone brace at end", tmpl: "a{", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := ParseTemplate(tt.tmpl)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTemplate(%q) = %q, want an error", tt.tmpl, tm.Address(&Message{Seq: tt.seq}, tt.rcpt))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.tmpl, err)
			}
			m := &Message{Seq: tt.seq}
			if got := string(tm.Append([]byte("<"), m, tt.rcpt)); got != "<"+tt.want {
				t.Errorf("Append = %q, want %q", got, "<"+tt.want)
			}
			if got := tm.Address(m, tt.rcpt); got != tt.want {
				t.Errorf("Address = %q, want %q", got, tt.want)
			}
			if got := tm.Len(m, tt.rcpt); got != len(tt.want) {
				t.Errorf("Len = %d, want %d", got, len(tt.want))
			}
			if got := tm.String(); got != tt.tmpl {
				t.Errorf("String = %q, want %q", got, tt.tmpl)
			}
		})
	}
}

func TestMustTemplatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustTemplate accepted an address holding CRLF")
		}
	}()
	MustTemplate("a@b\r\nQUIT")
}

func TestAppendAddrAllocs(t *testing.T) {
	tm := MustTemplate("user{n}.{r}@example.com")
	buf := make([]byte, 0, 64)
	m := &Message{Seq: 123456}
	allocs := testing.AllocsPerRun(100, func() { buf = tm.Append(buf[:0], m, 7) })
	if allocs != 0 {
		t.Errorf("Append allocates %v times per call, want 0", allocs)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OutcomeOK: "ok", OutcomeRejected: "rejected", OutcomeFailed: "failed"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", o, got, want)
		}
	}
}
