package main

import (
	"fmt"

	"github.com/smtpbench/smtpbench/internal/sysres"
)

// checkFileLimit raises the open-file limit and refuses, before anything
// starts, a -c that cannot fit: each session holds a socket, and the
// built-in sink holds the other end of each in the same process.
func checkFileLimit(concurrency int, builtinSink bool) error {
	need := uint64(concurrency) + sysres.Headroom
	if builtinSink {
		need += uint64(concurrency)
	}
	lim, ok := sysres.FitFiles(need)
	if ok {
		return nil
	}
	what := fmt.Sprintf("-c %d", concurrency)
	if builtinSink {
		what += " with the built-in sink"
	}
	if need <= lim.Hard {
		// Only a refused raise gets here.
		return exitError{exitUsage, fmt.Sprintf("%s needs about %d open files but the limit is %d: run `ulimit -n %d` first, or lower -c", what, need, lim.Soft, need)}
	}
	return exitError{exitUsage, fmt.Sprintf("%s needs about %d open files but the limit is %d (hard limit %d): raise the hard limit (as root: `ulimit -Hn %d`, or nofile in /etc/security/limits.conf), then `ulimit -n %d`; or lower -c",
		what, need, lim.Soft, lim.Hard, need, need)}
}
