package message

import (
	"fmt"
	"strings"
)

// SpecError is a Spec field whose value Prepare refused. Field is the
// Spec field's Go name ("Rcpts", "Corpus", "Data", …), so that a caller
// with names of its own for the settings (a command line's flags) can use
// them: Text words the error with those names. Prepare never names a flag.
type SpecError struct {
	Field string
	// Value is the value refused as the caller gave it, or for a file the
	// file's name (for a corpus directory, the file in it); empty when the
	// reason is about the field as a whole.
	Value string
	// At is where in the file the fault is ("line 3", "message 2 (line
	// 40)"); empty when it is the value itself.
	At string
	// Reason says why.
	Reason string
	// Others are the other Spec fields the reason speaks of, such as the
	// content sources a size mix does not apply to. When it is set, Reason
	// goes on from the field's name ("applies to %s only") and each %s in
	// it stands for one of Others, in order.
	Others []string
	// Err is the cause when there is one, for errors.Is and errors.As.
	Err error
}

func (e *SpecError) Error() string { return e.Text(fieldName) }

func (e *SpecError) Unwrap() error { return e.Err }

// Text words the error with name(field) for every field it speaks of.
func (e *SpecError) Text(name func(field string) string) string {
	if len(e.Others) > 0 {
		names := make([]any, len(e.Others))
		for i, f := range e.Others {
			names[i] = name(f)
		}
		return name(e.Field) + " " + fmt.Sprintf(e.Reason, names...)
	}
	s := name(e.Field)
	if e.Value != "" {
		s += " " + e.Value
	}
	if e.At != "" {
		s += ", " + e.At
	}
	return s + ": " + e.Reason
}

// ExcludeError is Spec fields set together that exclude each other, such
// as two sources of content. Fields are their Go names.
type ExcludeError struct {
	Fields []string
}

func (e *ExcludeError) Error() string { return e.Text(fieldName) }

// Text words the error with name(field) for each field.
func (e *ExcludeError) Text(name func(field string) string) string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = name(f)
	}
	list := names[0]
	if n := len(names); n > 1 {
		list = strings.Join(names[:n-1], ", ") + " and " + names[n-1]
	}
	return list + " exclude each other"
}

// fieldName is how the package's own error texts name a field: by its Go
// name, as a library user sets it.
func fieldName(field string) string { return field }

// specError is the refusal of field's value for a reason of its own.
func specError(field, value, reason string) *SpecError {
	return &SpecError{Field: field, Value: value, Reason: reason}
}

// wrapError is the refusal of field's value because of err.
func wrapError(field, value string, err error) *SpecError {
	return &SpecError{Field: field, Value: value, Reason: err.Error(), Err: err}
}

// origin is where content comes from, for its errors: a Spec field, its
// value (a file's name), and a place in that file.
type origin struct{ field, value, at string }

func (o origin) fail(err error) *SpecError {
	return &SpecError{Field: o.field, Value: o.value, At: o.at, Reason: err.Error(), Err: err}
}

func (o origin) failf(format string, a ...any) *SpecError {
	return &SpecError{Field: o.field, Value: o.value, At: o.at, Reason: fmt.Sprintf(format, a...)}
}

// line is the origin narrowed to line n (from 1) of the text it names.
func (o origin) line(n int) origin {
	return o.within(fmt.Sprintf("line %d", n))
}

// within is the origin narrowed to a place inside it.
func (o origin) within(at string) origin {
	if o.at != "" {
		at = o.at + ", " + at
	}
	o.at = at
	return o
}
