package loadgen

import (
	"errors"
	"testing"
	"time"
)

// The shards of a job send its messages between them, each once, at the
// job's rate, and a shard left with no message says so.
func TestJobShardApply(t *testing.T) {
	var sum int64
	for i := 0; i < 3; i++ {
		cfg := Config{Messages: 10, Rate: 90}
		if err := (JobShard{i, 3}).Apply(&cfg); err != nil {
			t.Fatal(err)
		}
		if want := []int64{4, 3, 3}[i]; cfg.Messages != want {
			t.Errorf("shard %d/3 of 10: %d messages, want %d", i, cfg.Messages, want)
		}
		if cfg.Rate != 30 || cfg.SeqOffset != uint64(i) || cfg.SeqStride != 3 {
			t.Errorf("shard %d/3: rate %g offset %d stride %d", i, cfg.Rate, cfg.SeqOffset, cfg.SeqStride)
		}
		sum += cfg.Messages
	}
	if sum != 10 {
		t.Errorf("shares add up to %d, want 10", sum)
	}
	cfg := Config{Messages: 2}
	var ce *ConfigError
	if err := (JobShard{2, 3}).Apply(&cfg); !errors.As(err, &ce) || ce.Field != "Messages" {
		t.Errorf("shard 2/3 of 2 messages: %v, want a ConfigError on Messages", err)
	}
	if err := (JobShard{}).Apply(&cfg); err != nil || cfg.Messages != 2 || cfg.SeqStride != 0 {
		t.Errorf("the zero shard changed the config: %v %+v", err, cfg)
	}
}

// Shard I of a constant-rate job starts I/R after the job, R its whole rate.
func TestShardStart(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{Rate: 100, Arrival: ArrivalConstant}
	if err := (JobShard{3, 4}).Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if got := ShardStart(at, cfg).Sub(at); got != 30*time.Millisecond {
		t.Errorf("shard 3/4 of 100/s starts %s later, want 30ms", got)
	}
	cfg.Arrival = ArrivalPoisson
	if got := ShardStart(at, cfg); !got.Equal(at) {
		t.Errorf("a Poisson shard starts %s later, want at once", got.Sub(at))
	}
}
