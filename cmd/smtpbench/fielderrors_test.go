package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/message"
)

// TestFieldFlagsNameFields: every key of specFlags is a field of
// message.Spec and every key of workloadFlags one of loadgen.Workload or
// loadgen.Config, so a renamed field cannot silently lose its flag in the
// errors; and every field a user sets by a flag has one.
func TestFieldFlagsNameFields(t *testing.T) {
	spec := reflect.TypeOf(message.Spec{})
	work := reflect.TypeOf(loadgen.Workload{})
	conf := reflect.TypeOf(loadgen.Config{})
	sweep := reflect.TypeOf(loadgen.SweepSpec{})
	for field, flag := range specFlags {
		if _, ok := spec.FieldByName(field); !ok {
			t.Errorf("specFlags[%q] = %q: message.Spec has no such field", field, flag)
		}
	}
	for field, flag := range workloadFlags {
		_, inWork := work.FieldByName(field)
		_, inConf := conf.FieldByName(field)
		_, inSweep := sweep.FieldByName(field)
		if !inWork && !inConf && !inSweep {
			t.Errorf("workloadFlags[%q] = %q: none of loadgen.Workload, Config and SweepSpec has such a field", field, flag)
		}
	}
	// Set by smtpbench itself, not by a flag of their own.
	internal := map[string]bool{"DataName": true, "Token": true, "Tracked": true, "NoTarget": true, "Given": true, "Server": true}
	for _, typ := range []reflect.Type{spec, work, sweep} {
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i).Name; !internal[f] && !strings.HasPrefix(specFlag(f), "--") {
				t.Errorf("%s.%s has no flag", typ, f)
			}
		}
	}
}
