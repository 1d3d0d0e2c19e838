package main

import (
	"errors"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/message"
)

// flagText words a library's refusal of a setting with the flags that set
// it: message.Prepare's SpecError and ExcludeError, delivery.Open's
// UsageError (--receive). Any other error keeps its own words.
func flagText(err error) string {
	var se *message.SpecError
	var xe *message.ExcludeError
	var ue *delivery.UsageError
	switch {
	case errors.As(err, &se):
		return se.Text(flagName)
	case errors.As(err, &xe):
		return xe.Text(flagName)
	case errors.As(err, &ue):
		return ue.Text("--receive")
	}
	return err.Error()
}
