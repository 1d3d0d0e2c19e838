package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// JobShard is one generator's part of a job that several generators share
// (the pods of a Kubernetes Indexed Job, say): shard Index of Count. The
// zero JobShard is a job that is not split.
type JobShard struct{ Index, Count int }

func (s JobShard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Apply gives cfg this shard's share: of Messages, the first Messages mod
// Count shards take one more than Messages/Count, so the shares add up to
// the job's; of Rate and of open-model stage targets, 1/Count. Message numbers go Index+1, Index+1+Count,
// Index+1+2·Count…, so the shards together number their messages exactly
// as one generator would, and no two shards share an address or a
// Message-ID. A shard left without a message is a ConfigError on Messages.
func (s JobShard) Apply(cfg *Config) error {
	if s.Count == 0 {
		return nil
	}
	if cfg.Messages > 0 {
		n, count := cfg.Messages, int64(s.Count)
		share := n / count
		if int64(s.Index) < n%count {
			share++
		}
		if share == 0 {
			return refuse("Messages", n, fmt.Sprintf("shard %s would send no message", s))
		}
		cfg.Messages = share
	}
	cfg.Rate /= float64(s.Count)
	if cfg.Rate > 0 && len(cfg.Stages) > 0 {
		// The open model's stage targets are rates: each shard takes its
		// share, as of Rate. (Closed-loop stages count sessions, which
		// shards do not divide, as they do not divide Concurrency.)
		stages := make([]Stage, len(cfg.Stages))
		for i, st := range cfg.Stages {
			stages[i] = Stage{Duration: st.Duration, Target: st.Target / float64(s.Count)}
		}
		cfg.Stages = stages
	}
	cfg.SeqOffset = uint64(s.Index)
	cfg.SeqStride = uint64(s.Count)
	return nil
}

// ShardStart is when a shard's run starts, given the job's start at: for
// a shard of a constant-rate job (cfg as Apply left it), Index/R later,
// R the whole job's rate, so that the shards' messages interleave evenly
// instead of arriving Count at a time. Other runs start at at.
func ShardStart(at time.Time, cfg Config) time.Time {
	if cfg.Rate > 0 && cfg.Arrival == ArrivalConstant && cfg.SeqStride > 1 {
		whole := cfg.Rate * float64(cfg.SeqStride)
		at = at.Add(time.Duration(float64(cfg.SeqOffset) / whole * float64(time.Second)))
	}
	return at
}

// JobIndexEnv is the variable a Kubernetes Indexed Job sets to the pod's
// completion index (0 to completions−1).
const JobIndexEnv = "JOB_COMPLETION_INDEX"

// Bounds on a job's start time: further ahead is taken for a typo;
// starting later than LateStart after it earns a warning in the report.
const (
	MaxStartWait = 24 * time.Hour
	LateStart    = 100 * time.Millisecond
)

// ParseShard reads a shard written I/N, with 0 <= I < N.
func ParseShard(s string) (JobShard, error) {
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count {
		return JobShard{}, fmt.Errorf("%q: want I/N with 0 <= I < N, such as 0/3", s)
	}
	return JobShard{index, count}, nil
}

// ShardFromEnv is shard I of count, I read from JobIndexEnv by getenv.
func ShardFromEnv(count int, getenv func(string) string) (JobShard, error) {
	if count < 1 {
		return JobShard{}, fmt.Errorf("%d shards: must be at least 1", count)
	}
	env := getenv(JobIndexEnv)
	if env == "" {
		return JobShard{}, fmt.Errorf("no $%s (set by a Kubernetes Indexed Job)", JobIndexEnv)
	}
	index, err := strconv.Atoi(env)
	if err != nil || index < 0 || index >= count {
		return JobShard{}, fmt.Errorf("$%s=%q: want a number from 0 to %d for %d shards", JobIndexEnv, env, count-1, count)
	}
	return JobShard{index, count}, nil
}

// ParseStartAt reads a job's start time (RFC 3339), at most MaxStartWait
// ahead.
func ParseStartAt(s string) (time.Time, error) {
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time such as 2026-11-25T20:30:00Z", s)
	}
	if wait := time.Until(at); wait > MaxStartWait {
		return time.Time{}, fmt.Errorf("%s is %s away: more than %s", s, wait.Round(time.Second), MaxStartWait)
	}
	return at, nil
}

// WaitUntil sleeps until at, calling say first when there is a wait. It
// returns false when ctx ends the wait.
func WaitUntil(ctx context.Context, at time.Time, say func(wait time.Duration)) bool {
	wait := time.Until(at)
	if wait <= 0 {
		return true
	}
	if say != nil {
		say(wait)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
