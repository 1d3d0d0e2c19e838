package main

import (
	"errors"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/message"
)

// specFlags names the flag behind each message.Spec field that Prepare may
// refuse: the libraries name their fields, the command line its flags.
var specFlags = map[string]string{
	"From": "--from", "To": "--to", "ToFile": "--to-file", "Domains": "--domains", "Rcpts": "--rcpts",
	"Sizes": "--size", "Template": "--message", "Corpus": "--corpus", "CorpusOrder": "--corpus-order",
	"Data": "--data", "Hostname": "--helo", "Seed": "--seed",
}

// specFlag is the flag behind a message.Spec field; a field without one
// (set by smtpbench itself, not by a flag) keeps its Go name.
func specFlag(field string) string {
	if flag, ok := specFlags[field]; ok {
		return flag
	}
	return field
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
