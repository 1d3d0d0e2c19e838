package main

import (
	"errors"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/message"
)

// specFlags names the flags of the message.Spec fields that Prepare may
// refuse whose names differ from loadgen.Workload's (workloadFlags).
var specFlags = map[string]string{"Sizes": "--size", "Data": "--data", "Hostname": "--helo"}

// specFlag is the flag behind a message.Spec field; a field without one
// (set by smtpbench itself, not by a flag) keeps its Go name.
func specFlag(field string) string {
	if flag, ok := specFlags[field]; ok {
		return flag
	}
	return flagName(field)
}

// flagText words a library's refusal of a setting with the flags that set
// it: message.Prepare's SpecError and ExcludeError, delivery.Open's
// UsageError (--receive). Any other error keeps its own words.
func flagText(err error) string {
	var se *message.SpecError
	var xe *message.ExcludeError
	var ue *delivery.UsageError
	switch {
	case errors.As(err, &se):
		return se.Text(specFlag)
	case errors.As(err, &xe):
		return xe.Text(specFlag)
	case errors.As(err, &ue):
		return ue.Text("--receive")
	}
	return err.Error()
}
