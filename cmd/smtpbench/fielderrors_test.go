package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/message"
)

// TestFieldFlagsNameFields: every key of workloadFlags is a field of
// loadgen.Workload, Config, SweepSpec or message.Spec, so a renamed field cannot silently lose its flag in the
// errors; and every field a user sets by a flag has one.
func TestFieldFlagsNameFields(t *testing.T) {
	spec := reflect.TypeOf(message.Spec{})
	work := reflect.TypeOf(loadgen.Workload{})
	conf := reflect.TypeOf(loadgen.Config{})
	sweep := reflect.TypeOf(loadgen.SweepSpec{})
	for field, flag := range workloadFlags {
		_, inWork := work.FieldByName(field)
		_, inConf := conf.FieldByName(field)
		_, inSweep := sweep.FieldByName(field)
		_, inSpec := spec.FieldByName(field)
		if !inWork && !inConf && !inSweep && !inSpec {
			t.Errorf("workloadFlags[%q] = %q: none of loadgen.Workload, Config, SweepSpec and message.Spec has such a field", field, flag)
		}
	}
	// Set by smtpbench itself, not by a flag of their own.
	internal := map[string]bool{"DataName": true, "Token": true, "Tracked": true, "NoTarget": true, "Given": true, "Getenv": true, "Shard": true}
	for _, typ := range []reflect.Type{spec, work, sweep} {
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i).Name; !internal[f] && !strings.HasPrefix(flagName(f), "--") {
				t.Errorf("%s.%s has no flag", typ, f)
			}
		}
	}
}
