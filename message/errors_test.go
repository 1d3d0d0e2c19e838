package message

import (
	"errors"
	"strings"
	"testing"
)

// TestSpecErrorsNameFields: every refusal of Prepare is a *SpecError or an
// *ExcludeError naming the Spec field by its Go name, with the value it
// refused, and no error text names a command-line flag.
func TestSpecErrorsNameFields(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.eml", "Subject: {n}\n\nb\n")
	unknown := writeFile(t, dir, "unknown.eml", "Subject: x\nX-Seq: {nope}\n\nb\n")
	notHeader := writeFile(t, dir, "body.eml", "just text\n\nb\n")
	cut := writeFile(t, dir, "cut.mbox", "From a@x date\nSubject: one\n\nb\n\nFrom b@x date\nSubject: two\n")
	two := writeFile(t, dir, "two.txt", "a@x\nb@x\n")
	none := writeFile(t, dir, "none.txt", "# nobody\n")
	emptyDir := t.TempDir()
	cases := []struct {
		name  string
		spec  Spec
		field string // of the *SpecError
		value string
		at    string
	}{
		{"rcpts above the maximum", Spec{Rcpts: Range{1, MaxRcpts + 1}}, "Rcpts", "1-1001", ""},
		{"rcpts backwards", Spec{Rcpts: Range{5, 1}}, "Rcpts", "5-1", ""},
		{"sender placeholder", Spec{From: "{r}@x"}, "From", "", ""},
		{"recipient placeholder", Spec{To: "{nope}@x"}, "To", "", ""},
		{"negative domains", Spec{Domains: -2}, "Domains", "-2", ""},
		{"domains with a list", Spec{Domains: 3, ToFile: two}, "Domains", "", ""},
		{"list shorter than rcpts", Spec{ToFile: two, Rcpts: Range{3, 3}}, "ToFile", two, ""},
		{"list without addresses", Spec{ToFile: none}, "ToFile", none, ""},
		{"size with a template", Spec{Template: good, Sizes: FixedSize(10)}, "Sizes", "", ""},
		{"unknown placeholder", Spec{Template: unknown}, "Template", unknown, "line 2"},
		{"no header section", Spec{Template: notHeader}, "Template", notHeader, ""},
		{"truncated mbox", Spec{Corpus: cut}, "Corpus", cut, ""},
		{"empty corpus", Spec{Corpus: emptyDir}, "Corpus", emptyDir, ""},
		{"empty data", Spec{Data: []byte(" \n"), DataName: "d.eml", Tracked: true}, "Data", "d.eml", ""},
		{"hostname", Spec{Hostname: "a b"}, "Hostname", "a b", ""},
		{"run token", Spec{Token: "a.b"}, "Token", "a.b", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(tc.spec)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SpecError", err, err)
			}
			if se.Field != tc.field || se.Value != tc.value || se.At != tc.at || se.Reason == "" {
				t.Errorf("%+v, want field %q, value %q, at %q and a reason", se, tc.field, tc.value, tc.at)
			}
			if strings.Contains(err.Error(), "--") {
				t.Errorf("%q names a flag", err)
			}
			// The caller's names for the fields replace the Go names,
			// the other fields' too.
			flag := func(f string) string { return "<" + f + ">" }
			text := se.Text(flag)
			if !strings.HasPrefix(text, "<"+tc.field+">") {
				t.Errorf("Text = %q, want it to start with the caller's name of %s", text, tc.field)
			}
			for _, o := range se.Others {
				if !strings.Contains(text, "<"+o+">") {
					t.Errorf("Text = %q does not name %s the caller's way", text, o)
				}
			}
		})
	}

	for _, tc := range []struct {
		spec   Spec
		fields []string
		text   string
	}{
		{Spec{Template: good, Corpus: emptyDir}, []string{"Template", "Corpus", "Data"}, "Template, Corpus and Data exclude each other"},
		{Spec{To: "a@x", ToFile: two}, []string{"To", "ToFile"}, "To and ToFile exclude each other"},
	} {
		_, err := Prepare(tc.spec)
		var xe *ExcludeError
		if !errors.As(err, &xe) || strings.Join(xe.Fields, " ") != strings.Join(tc.fields, " ") || err.Error() != tc.text {
			t.Errorf("%+v: error %v, want an *ExcludeError of %v saying %q", tc.spec, err, tc.fields, tc.text)
		}
	}
}

// TestSpecErrorText: the wording a caller's names go into, exactly.
func TestSpecErrorText(t *testing.T) {
	flag := func(f string) string {
		return map[string]string{"Corpus": "--corpus", "Sizes": "--size", "Template": "--message", "Data": "--data"}[f]
	}
	cases := []struct {
		err  *SpecError
		want string
	}{
		{&SpecError{Field: "Corpus", Value: "c.mbox", At: "message 2 (line 6)", Reason: "truncated?"}, "--corpus c.mbox, message 2 (line 6): truncated?"},
		{&SpecError{Field: "Corpus", Value: "dir", Reason: "no messages in it"}, "--corpus dir: no messages in it"},
		{&SpecError{Field: "Corpus", Reason: "no value"}, "--corpus: no value"},
		{&SpecError{Field: "Sizes", Reason: "applies to generated messages only, not to %s, %s or %s", Others: []string{"Template", "Corpus", "Data"}},
			"--size applies to generated messages only, not to --message, --corpus or --data"},
	}
	for _, tc := range cases {
		if got := tc.err.Text(flag); got != tc.want {
			t.Errorf("Text = %q, want %q", got, tc.want)
		}
	}
	cause := errors.New("cause")
	if err := (&SpecError{Field: "Data", Reason: cause.Error(), Err: cause}); !errors.Is(err, cause) {
		t.Error("a SpecError does not unwrap to its cause")
	}
}
