package report

// RunConfig is the "config" object of a run's document: the settings the
// run was made with, as given on the command line once resolved (defaults
// filled in, files read). compare reads it to tell whether two runs ran the
// same workload, merge to keep what generators agreed on. Durations are in
// seconds.
type RunConfig struct {
	// Concurrency is the number of sessions (-c); with a rate, the most
	// sessions that may be open at once.
	Concurrency int `json:"concurrency"`
	// Messages is the number of messages to send (-n), 0 when the run was
	// bounded by its duration.
	Messages int64 `json:"messages"`
	// DurationS is the run's length (-d), 0 when bounded by -n.
	DurationS float64 `json:"duration_s"`
	// PerConn is how many messages a connection carries before it is
	// closed and another dialed (0: no limit).
	PerConn int `json:"per_conn"`
	// Rcpts is the number of recipients per message, or the least of a
	// range whose most is RcptsMax.
	Rcpts    int `json:"rcpts"`
	RcptsMax int `json:"rcpts_max,omitempty"`
	// SizeBytes is the generated body's size when it is fixed; Size the
	// size mix as given (--size).
	SizeBytes int64  `json:"size_bytes"`
	Size      string `json:"size,omitempty"`
	// DataFile, MessageFile and Corpus name the content's source: --data,
	// a --message template or a --corpus, with CorpusOrder and the number
	// of messages the corpus held.
	DataFile    string `json:"data_file,omitempty"`
	MessageFile string `json:"message_file,omitempty"`
	Corpus      string `json:"corpus,omitempty"`
	CorpusOrder string `json:"corpus_order,omitempty"`
	CorpusSize  int    `json:"corpus_messages,omitempty"`
	// From and To are the envelope templates; ToFile a file of recipients
	// and Domains how many domains recipients were spread over.
	From    string `json:"from"`
	To      string `json:"to"`
	ToFile  string `json:"to_file,omitempty"`
	Domains int    `json:"domains,omitempty"`
	// Seed seeds every random choice of the workload; SeedGiven says it
	// was chosen with --seed rather than drawn for the run, so that two
	// runs with different drawn seeds still count as the same workload.
	Seed      uint64 `json:"seed"`
	SeedGiven bool   `json:"seed_given,omitempty"`
	// Targets lists every target as ADDRESS=WEIGHT when there are several.
	Targets []string `json:"targets,omitempty"`
	// SourceAddrs are the local addresses connections were made from.
	SourceAddrs []string `json:"source_addrs,omitempty"`
	// Pipelining is the --pipelining mode asked for (auto, groups, off).
	Pipelining string `json:"pipelining"`
	// Lockstep is --lockstep-every: where the server answers a pipelined
	// group in one write, one message in this many is sent one command at
	// a time so that each phase is measured apart (0: never;
	// docs/phases.md).
	Lockstep int `json:"lockstep_every"`
	// Chunking is the --chunking mode (BDAT, RFC 3030), ChunkSize the
	// size of a chunk when BDAT is used; BinaryMIME and LMTP say whether
	// --binarymime and --lmtp were given.
	Chunking   string `json:"chunking"`
	ChunkSize  int    `json:"chunk_size,omitempty"`
	BinaryMIME bool   `json:"binarymime,omitempty"`
	LMTP       bool   `json:"lmtp,omitempty"`
	// TimeoutS bounds each reply, DataTimeoutS the reply to the end of
	// data.
	TimeoutS     float64 `json:"timeout_s"`
	DataTimeoutS float64 `json:"data_timeout_s"`
	// Rate is the open model's messages per second (0: closed loop), and
	// Arrival how due times are spaced (constant or poisson).
	Rate    float64 `json:"rate"`
	Arrival string  `json:"arrival,omitempty"`
	// WarmupS is the warm-up left out of the figures, RampS the ramp of
	// sessions or rate at the start.
	WarmupS float64 `json:"warmup_s"`
	RampS   float64 `json:"ramp_s"`
	// Stages is --stages as given (DURATION:TARGET,...); absent without it.
	Stages string `json:"stages,omitempty"`
	// BuiltinSink is true when the run started smtpbench's own sink in its
	// process, because no target was given.
	BuiltinSink bool `json:"builtin_sink"`
	// ContentBytes is the size of the first message's content as sent.
	ContentBytes int `json:"content_bytes"`
	// Helo is the name given in EHLO or LHLO.
	Helo string `json:"helo"`
	// GraceS is how long messages in flight were given after the end.
	GraceS float64 `json:"grace_s"`
	// BusyPoll is the --busy-poll setting as resolved (on or off).
	BusyPoll string `json:"busy_poll"`
	// TLS and Auth describe the TLS and AUTH settings; absent when unused.
	TLS  *TLSConfig  `json:"tls,omitempty"`
	Auth *AuthConfig `json:"auth,omitempty"`
	// Shard is "I/N" when this run was shard I of N; messages and rate
	// above are then the whole job's, of which it took its share.
	Shard string `json:"shard,omitempty"`
	// StartAt is the --start-at instant the run waited for.
	StartAt string `json:"start_at,omitempty"`
	// Receive and DrainS are --receive and --drain: where arrivals were
	// received and how long the run waited for them (docs/delivery.md).
	Receive string  `json:"receive,omitempty"`
	DrainS  float64 `json:"drain_s,omitempty"`
	// Mix is --mix as given, with the profiles' settings: the slow
	// profile's bytes per second, how long idle sessions wait, the
	// harvest profile's address template and recipients per message;
	// absent without a mix (docs/profiles.md).
	Mix          string  `json:"mix,omitempty"`
	SlowRate     int     `json:"slow_rate,omitempty"`
	IdleForS     float64 `json:"idle_for_s,omitempty"`
	HarvestTo    string  `json:"harvest_to,omitempty"`
	HarvestRcpts int     `json:"harvest_rcpts,omitempty"`
}

// TLSConfig is the config's "tls" object.
type TLSConfig struct {
	// Mode is none, starttls, required or implicit.
	Mode string `json:"mode"`
	// CA is the file of certificates the server's was checked against.
	CA string `json:"ca,omitempty"`
	// Insecure is true when the server's certificate was not checked.
	Insecure bool `json:"insecure"`
	// SNI is the server name sent and checked.
	SNI string `json:"sni,omitempty"`
	// MinVersion and MaxVersion bound the TLS version (1.2 or 1.3).
	MinVersion string `json:"min_version"`
	MaxVersion string `json:"max_version"`
	// ClientCert is the file of the client certificate offered.
	ClientCert string `json:"client_cert,omitempty"`
	// Resume is true when sessions resumed TLS sessions of earlier ones.
	Resume bool `json:"resume"`
}

// AuthConfig is the config's "auth" object. It says where the secret came
// from, never what it is.
type AuthConfig struct {
	// Mechanism is the SASL mechanism used (PLAIN, LOGIN, CRAM-MD5...).
	Mechanism string `json:"mechanism"`
	// User is the user name template.
	User string `json:"user"`
	// SecretFrom says where the password came from (a file, the
	// environment).
	SecretFrom string `json:"secret_from"`
	// PlaintextAllowed is true when AUTH was allowed without TLS.
	PlaintextAllowed bool `json:"plaintext_allowed"`
}
