// Package fielderr is the error type of settings refused by field name,
// shared by loadgen and sink (which loadgen imports, so it cannot import
// loadgen's). Each
// re-exports it under its own name (loadgen.ConfigError, sink.SpecError).
package fielderr

import (
	"fmt"
	"strings"
)

// Error names the field of a settings type that a value was refused for,
// so that a command line can name its own flag for it. Want
// names any other setting it speaks of as {Field}. Without a Value (a
// rule between settings, or a value the reason quotes itself) Want
// follows the field's name directly, with its own separator.
type Error struct {
	Field string // Concurrency, Messages, Duration, …
	Value any
	Want  string
}

func (e *Error) Error() string { return e.Explain(func(field string) string { return field }) }

// Explain words the error with name(field) for each setting it names: a
// command line passes the names of its flags.
func (e *Error) Explain(name func(field string) string) string {
	want := Words(e.Want, name)
	if e.Value == nil {
		return name(e.Field) + want
	}
	return fmt.Sprintf("%s %v: %s", name(e.Field), e.Value, want)
}

// New is the Error on field for value, with what is wanted.
func New(field string, value any, want string) *Error {
	return &Error{Field: field, Value: value, Want: want}
}

// Relation is the Error of a rule between settings, or of a value the
// reason quotes itself: want follows the field's name directly.
func Relation(field, want string) *Error { return &Error{Field: field, Want: want} }

// Words puts name(field) for every {Field} in text.
func Words(text string, name func(field string) string) string {
	for {
		i := strings.IndexByte(text, '{')
		j := strings.IndexByte(text, '}')
		if i < 0 || j < i {
			return text
		}
		text = text[:i] + name(text[i+1:j]) + text[j+1:]
	}
}
