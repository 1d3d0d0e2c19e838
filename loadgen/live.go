package loadgen

import (
	"time"

	"github.com/smtpbench/smtpbench/report"
)

// StartLive creates the live file name (report.CreateLive) before the
// load, so that a file that cannot be written fails at once, and has the
// run append each completed second to it. startAt is when the run will
// begin, if later than now; cj is the configuration the file's header
// echoes.
func (c *Config) StartLive(name string, cj report.RunConfig, startAt time.Time) (*report.LiveWriter, error) {
	model := "closed"
	if c.Rate > 0 {
		model = "open"
	}
	target := c.Target
	if target == "" && len(c.Targets) > 0 {
		target = c.Targets[0].Addr
	}
	began := time.Now()
	if startAt.After(began) {
		began = startAt
	}
	lw, err := report.CreateLive(name, report.LiveHeader{Target: target, StartedAt: began, LoadModel: model, Config: cj})
	if err != nil {
		return nil, err
	}
	c.OnSecond, c.OnEnd = lw.WriteSecond, lw.End
	return lw, nil
}
