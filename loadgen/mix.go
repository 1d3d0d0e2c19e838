package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
)

// mix is the run's session mix: which worker plays which profile, and the
// recorder of each profile. Normal workers never touch it, so a run
// without --mix, and the normal sessions of one with it, take the same
// path as before.
type mix struct {
	shares []*mixShare
	plan   []int // per worker: index into shares
	normal int   // how many workers are normal
	// ctx ends the profile sessions: when the normal sessions are done,
	// when the run stops, or when it is aborted.
	ctx    context.Context
	cancel context.CancelFunc
	seq    atomic.Uint64 // profile sessions begun, for their message numbers
	wg     sync.WaitGroup
}

type mixShare struct {
	profile.Share
	workers int
	mu      sync.Mutex
	rec     *metrics.ProfileRecorder // nil for normal
}

// profileSeqBase keeps the profile sessions' message numbers ({n}) apart
// from the normal sessions'.
const profileSeqBase = 1 << 40

// newMix shares the workers among cfg's mix; nil without one.
func newMix(cfg *Config) *mix {
	if len(cfg.Mix) == 0 {
		return nil
	}
	shares := cfg.Mix
	hasNormal := false
	for _, s := range shares {
		hasNormal = hasNormal || s.Profile == nil
	}
	if !hasNormal {
		shares = append([]profile.Share{{Name: metrics.NormalProfile}}, shares...)
	}
	counts, plan := profile.Split(shares, cfg.Concurrency)
	m := &mix{plan: plan}
	for i, s := range shares {
		ms := &mixShare{Share: s, workers: counts[i]}
		if s.Profile != nil {
			ms.rec = metrics.NewProfileRecorder()
		} else {
			m.normal = counts[i]
		}
		m.shares = append(m.shares, ms)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// normalWorker says whether worker id runs normal sessions.
func (m *mix) normalWorker(id int) bool { return m == nil || m.shares[m.plan[id]].Profile == nil }

// start launches the profile workers.
func (m *mix) start(r *run) {
	go func() {
		select {
		case <-r.stopped:
		case <-r.abortCtx.Done():
		case <-m.ctx.Done():
		}
		m.cancel()
	}()
	for id, k := range m.plan {
		sh := m.shares[k]
		if sh.Profile == nil {
			continue
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.play(r, id, sh)
		}()
	}
}

// stop ends the profile sessions and waits for their workers.
func (m *mix) stop() {
	m.cancel()
	m.wg.Wait()
}

// play runs sessions of one profile, one after another, until the mix
// ends; with no normal worker each session takes one of -n.
func (m *mix) play(r *run, id int, sh *mixShare) {
	var backoff time.Duration
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for first := true; m.ctx.Err() == nil; first = false {
		if first && r.cfg.Ramp > 0 && r.pacer == nil {
			// Closed-model ramp: join at id/c of it, as normal workers do.
			if !sleepCtx(m.ctx, timer, time.Until(r.start.Add(r.cfg.Ramp*time.Duration(id)/time.Duration(r.cfg.Concurrency)))) {
				return
			}
		}
		seq := profileSeqBase + m.seq.Add(1)
		if m.normal == 0 {
			i, _, ok := r.claim()
			if !ok {
				return
			}
			seq = i*r.cfg.SeqStride + r.cfg.SeqOffset + 1
		}
		n := r.profileSessions.Add(1)
		addr := r.cfg.Targets[r.dialPlan[(n-1)%int64(len(r.dialPlan))]].Addr
		s := profile.NewSession(m.ctx, &r.cfg.Profiles, addr, id+1, seq, sh.rec, &sh.mu)
		began := time.Now()
		how := sh.Profile.Play(s)
		s.Finish(how)
		switch {
		case how == metrics.EndRunEnd:
			return
		case !s.Connected() || time.Since(began) < 10*time.Millisecond && how != metrics.EndQuit && how != metrics.EndDropped:
			// Refused, or turned away at once: back off so a refusing
			// server does not make this a hot loop.
			backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
			if !sleepCtx(m.ctx, timer, backoff) {
				return
			}
		default:
			backoff = 0
		}
	}
}

func sleepCtx(ctx context.Context, t *time.Timer, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t.Reset(d)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// results returns the mix for the report, and warnings about it.
func (m *mix) results() ([]report.ProfileResult, []string) {
	var out []report.ProfileResult
	var warns []string
	for _, sh := range m.shares {
		out = append(out, report.ProfileResult{Name: sh.Name, Weight: sh.Weight, Workers: sh.workers, Rec: sh.rec})
		if sh.Weight > 0 && sh.workers == 0 {
			warns = append(warns, fmt.Sprintf("profile %s has weight %d but no session: -c is too small for the mix", sh.Name, sh.Weight))
		}
	}
	if m.normal == 0 {
		warns = append(warns, "the mix leaves no normal sessions: there is no good mail to measure; only the profiles' figures (session mix) describe this run")
	}
	return out, warns
}
