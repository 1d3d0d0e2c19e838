package loadgen

import (
	"fmt"
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
			return &ConfigError{"Messages", n, fmt.Sprintf("shard %s would send no message", s)}
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
