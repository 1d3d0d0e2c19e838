package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/message"
)

// TestFieldFlagsNameFields: every key of workloadFlags is a field of one
// of the settings types the libraries name in their errors, so a renamed
// field cannot silently lose its flag; and every field of those types a
// user sets by a flag has one.
func TestFieldFlagsNameFields(t *testing.T) {
	types := []reflect.Type{reflect.TypeOf(loadgen.Workload{}), reflect.TypeOf(loadgen.SweepSpec{}),
		reflect.TypeOf(message.Spec{}), reflect.TypeOf(analysis.ThresholdSpec{}), reflect.TypeOf(loadgen.SecuritySpec{})}
	for field, flag := range workloadFlags {
		found := false
		for _, typ := range append(types, reflect.TypeOf(loadgen.Config{})) {
			_, ok := typ.FieldByName(field)
			found = found || ok
		}
		if !found {
			t.Errorf("workloadFlags[%q] = %q: no settings type has such a field", field, flag)
		}
	}
	// Set by smtpbench itself, not by a flag of their own.
	internal := map[string]bool{"DataName": true, "Token": true, "Tracked": true, "NoTarget": true, "Given": true, "Getenv": true, "Shard": true, "SecretFrom": true, "Sessions": true, "Exposed": true}
	for _, typ := range types {
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i).Name; !internal[f] && !strings.HasPrefix(flagName(f), "-") && !strings.HasPrefix(flagName(f), "$") {
				t.Errorf("%s.%s has no flag", typ, f)
			}
		}
	}
}
