package main

import (
	"reflect"
	"testing"

	"github.com/smtpbench/smtpbench/message"
)

// TestSpecFlagsNameSpecFields: every key of specFlags is a field of
// message.Spec, so a renamed field cannot silently lose its flag in the
// errors, and every field a user sets by a flag has one.
func TestSpecFlagsNameSpecFields(t *testing.T) {
	spec := reflect.TypeOf(message.Spec{})
	for field, flag := range specFlags {
		if _, ok := spec.FieldByName(field); !ok {
			t.Errorf("specFlags[%q] = %q: message.Spec has no such field", field, flag)
		}
	}
	// Set by smtpbench itself, not by a flag of their own.
	internal := map[string]bool{"DataName": true, "Token": true, "Tracked": true}
	for i := 0; i < spec.NumField(); i++ {
		if f := spec.Field(i).Name; !internal[f] && specFlags[f] == "" {
			t.Errorf("message.Spec.%s has no flag in specFlags", f)
		}
	}
}
