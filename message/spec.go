// Package message decides what each message of a run looks like: its
// envelope (sender, how many recipients and which), its size and its
// content (generated, from an .eml template, from a corpus of real
// messages, or one fixed file), all reproducible from one seed. A Spec says
// what the user asked for; Prepare checks it, reads the files and encodes
// everything that does not vary once; Set.Fill then makes message n
// without allocating.
package message

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/smtpbench/smtpbench/session"
)

// Defaults for a Spec's zero fields, shown by the CLI as flag defaults.
const (
	DefaultFrom = "bench{n}@example.com"
	DefaultTo   = "user{n}.{r}@example.net"
	DefaultSize = 1000
	// MaxRcpts keeps a pipelined group's replies well inside the socket
	// buffers, so writing a group can never deadlock against unread replies
	// (RFC 2920 3.1 advice on group size).
	MaxRcpts = 1000
)

// Order is how a corpus is replayed.
type Order uint8

const (
	OrderRoundRobin Order = iota // message n is the corpus's ((n−1) mod size)th
	OrderRandom                  // each message drawn from the seed
)

// ParseOrder reads round-robin or random.
func ParseOrder(s string) (Order, error) {
	switch s {
	case "round-robin":
		return OrderRoundRobin, nil
	case "random":
		return OrderRandom, nil
	}
	return 0, fmt.Errorf("corpus order %q: want round-robin or random", s)
}

func (o Order) String() string { return [...]string{"round-robin", "random"}[o] }

// Spec is what to send, as the user asked for it; zero fields mean the
// defaults. At most one of Template, Corpus and Data may be set; without
// any, messages are generated with bodies of Sizes.
type Spec struct {
	From string // sender template; DefaultFrom if empty
	To   string // recipient template; DefaultTo if empty
	// ToFile names a file of recipient addresses, one a line, taken in
	// turn instead of To.
	ToFile string
	// Domains, when above 1, spreads the recipients of To over that many
	// domains: user@d1.example.net … user@dN.example.net.
	Domains int
	Rcpts   Range // recipients per message; 1 if zero
	Sizes   Sizes // generated bodies; DefaultSize if empty

	Template    string // an .eml file with placeholders in its header section
	Corpus      string // a directory of messages, or an mbox file
	CorpusOrder Order
	Data        []byte // content sent as it is, the same for every message
	DataName    string // where Data came from, for errors

	Seed     uint64 // every random choice derives from it
	Hostname string // right-hand side of generated Message-IDs; session.DefaultHostname if empty
	// Token, when set, is the run token in Message-IDs instead of one
	// derived from Seed: a run that tracks delivery takes a fresh one, so
	// that mail of an earlier run with the same seed is told apart.
	Token string
	// Tracked makes every message carry smtpbench's Message-ID, by which
	// arrivals are matched (package delivery): Data gets one too, and a
	// template's own Message-ID is replaced even when it varies.
	Tracked bool
}

// Set is a prepared Spec: everything that does not vary encoded once. It
// is read-only after Prepare, so every worker shares it.
type Set struct {
	spec     Spec
	from, to *Template
	rcpts    Range
	sizes    Sizes
	weights  []float64 // cumulative, ending at 1
	contents []*content
	gen      bool // contents[0] has a generated body
	// utf8 says an address is internationalised: every message declares
	// SMTPUTF8, and its generated header fields carry UTF-8 (RFC 6532).
	utf8     bool
	runToken string
	hostname string
}

// Prepare checks spec and reads and encodes what it names. A refused value
// is a *SpecError naming the Spec field, fields that cannot go together an
// *ExcludeError; neither names a command-line flag, which is the caller's
// to do. A file that cannot be read comes back as the error reading it
// (an *fs.PathError names the file).
func Prepare(spec Spec) (*Set, error) {
	s := &Set{spec: spec, rcpts: spec.Rcpts, sizes: spec.Sizes, hostname: spec.Hostname}
	if s.hostname == "" {
		s.hostname = session.DefaultHostname
	}
	if strings.ContainsAny(s.hostname, "{}<> \r\n") {
		return nil, specError("Hostname", s.hostname, "want a domain")
	}
	// The token tells runs apart in Message-IDs; a function of the seed,
	// so a repeated run sends the same bytes.
	st := spec.Seed
	s.runToken = strconv.FormatUint(splitmix(&st)>>32, 16)
	if spec.Token != "" {
		if strings.ContainsAny(spec.Token, "{}<>@. \r\n") {
			return nil, specError("Token", spec.Token, "want letters and digits")
		}
		s.runToken = spec.Token
	}

	if s.rcpts == (Range{}) {
		s.rcpts = Range{1, 1}
	}
	if s.rcpts.Min < 1 || s.rcpts.Max > MaxRcpts || s.rcpts.Min > s.rcpts.Max {
		return nil, specError("Rcpts", s.rcpts.String(), fmt.Sprintf("want N or MIN-MAX from 1 to %d", MaxRcpts))
	}
	from := cmp(spec.From, DefaultFrom)
	var err error
	if s.from, err = ParseSenderTemplate(from); err != nil {
		return nil, wrapError("From", "", err)
	}
	if err := s.recipients(); err != nil {
		return nil, err
	}
	s.utf8 = s.from.NonASCII() || s.to.NonASCII()

	sources := 0
	for _, set := range []bool{spec.Template != "", spec.Corpus != "", spec.Data != nil} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return nil, &ExcludeError{Fields: []string{"Template", "Corpus", "Data"}}
	}
	if sources == 1 && len(spec.Sizes.Entries) > 0 {
		return nil, &SpecError{Field: "Sizes", Reason: "applies to generated messages only, not to %s, %s or %s",
			Others: []string{"Template", "Corpus", "Data"}}
	}
	switch {
	case spec.Template != "":
		c, err := s.loadTemplate(spec.Template)
		if err != nil {
			return nil, err
		}
		s.contents = []*content{c}
	case spec.Corpus != "":
		if s.contents, err = s.loadCorpus(spec.Corpus); err != nil {
			return nil, err
		}
	case spec.Data != nil && spec.Tracked:
		c, err := s.realMessage(spec.Data, origin{field: "Data", value: spec.DataName})
		if err != nil {
			return nil, err
		}
		s.contents = []*content{c}
	case spec.Data != nil:
		c, err := literal(spec.DataName, spec.Data)
		if err != nil {
			return nil, wrapError("Data", spec.DataName, err)
		}
		s.contents = []*content{c}
	default:
		if len(s.sizes.Entries) == 0 {
			s.sizes = FixedSize(DefaultSize)
		}
		if err := s.generated(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// recipients sets up To: a template, a list from a file, or a template
// spread over domains.
func (s *Set) recipients() error {
	spec := &s.spec
	per := s.rcpts.mean()
	if spec.Domains < 0 {
		return specError("Domains", strconv.Itoa(spec.Domains), "must not be negative")
	}
	if spec.ToFile != "" {
		if spec.To != "" {
			return &ExcludeError{Fields: []string{"To", "ToFile"}}
		}
		if spec.Domains > 0 {
			return &SpecError{Field: "Domains", Reason: "applies to %s; the addresses of %s keep their own domains",
				Others: []string{"To", "ToFile"}}
		}
		lines, err := readLines(spec.ToFile)
		if err != nil {
			return err
		}
		if len(lines) < s.rcpts.Max {
			return specError("ToFile", spec.ToFile, fmt.Sprintf("%d addresses, but a message may have %d recipients, which must differ", len(lines), s.rcpts.Max))
		}
		if s.to, err = AddressList(lines, per); err != nil {
			return wrapError("ToFile", spec.ToFile, err)
		}
		return nil
	}
	var err error
	if s.to, err = ParseTemplate(cmp(spec.To, DefaultTo)); err != nil {
		return wrapError("To", "", err)
	}
	if spec.Domains > 1 {
		if s.to, err = s.to.SpreadDomains(spec.Domains, per); err != nil {
			return wrapError("Domains", "", err)
		}
	}
	return nil
}

// readLines reads one address a line, skipping empty lines and lines
// starting with '#'.
func readLines(name string) ([]string, error) {
	f, err := ReadFileLimit(name, maxListFile)
	if err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		l = strings.TrimSuffix(strings.TrimPrefix(l, "<"), ">")
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, wrapError("ToFile", name, err)
	}
	if len(lines) == 0 {
		return nil, specError("ToFile", name, "no addresses in it")
	}
	return lines, nil
}

// generated prepares the generated message: a few headers and a body of
// the size drawn for each message.
func (s *Set) generated() error {
	var sum float64
	for _, e := range s.sizes.Entries {
		sum += e.Weight
	}
	acc := 0.0
	for _, e := range s.sizes.Entries {
		acc += e.Weight
		s.weights = append(s.weights, acc/sum)
	}
	s.weights[len(s.weights)-1] = 1
	header := "From: <{from}>\r\nTo: <{to}>\r\nSubject: smtpbench test message\r\nDate: {date}\r\n" +
		s.messageIDLine() + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	b := newBuilder("generated")
	if err := b.template(header, origin{field: "Hostname", value: s.hostname, at: "generated headers"}); err != nil {
		return err
	}
	b.generatedBody(newBodyGen())
	s.contents = []*content{b.done()}
	s.gen = true
	return nil
}

// Fill makes message seq (from 1) in m: envelope, content and size, all
// drawn from the run's seed and seq alone, so the message is the same
// whichever worker builds it and whenever. It sets everything but Worker
// and Conn, and returns which entry of the size mix it drew (0 when
// messages are not generated). It allocates nothing.
func (s *Set) Fill(m *session.Message, seq uint64) int {
	st := s.spec.Seed ^ seq*0xd1b54a32d192ed03
	m.Seq, m.From, m.To = seq, s.from, s.to
	m.Rcpts = s.rcpts.Min + int(splitmix(&st)%uint64(s.rcpts.Max-s.rcpts.Min+1))
	pick := splitmix(&st)
	size := splitmix(&st)
	m.Rand = splitmix(&st)
	variant := 0
	c := s.contents[0]
	switch {
	case s.gen:
		u := float64(pick>>11) / (1 << 53)
		for variant < len(s.weights)-1 && u >= s.weights[variant] {
			variant++
		}
		e := s.sizes.Entries[variant]
		m.BodySize = int(e.Min + int64(size%uint64(e.Max-e.Min+1)))
	case len(s.contents) > 1:
		k := (seq - min(seq, 1)) % uint64(len(s.contents))
		if s.spec.CorpusOrder == OrderRandom {
			k = pick % uint64(len(s.contents))
		}
		c = s.contents[k]
		m.BodySize = 0
	default:
		m.BodySize = 0
	}
	m.Content, m.EightBit = c, c.eightBit || s.utf8
	m.UTF8 = s.utf8
	return variant
}

// Token is the run token in this set's Message-IDs,
// <smtpbench.TOKEN.N@host>.
func (s *Set) Token() string { return s.runToken }

// Seed is the seed every random choice of the messages derives from, for
// other random choices of the run (the open model's Poisson arrivals) to
// derive from as well, so that one seed repeats the whole workload.
func (s *Set) Seed() uint64 { return s.spec.Seed }

// Variants are the entries of the size mix, for counting what was sent:
// Fill's return value indexes it. Empty when messages are not generated.
func (s *Set) Variants() []SizeEntry {
	if !s.gen {
		return nil
	}
	return s.sizes.Entries
}

// Corpus is how many messages the corpus holds (0 without one).
func (s *Set) Corpus() int {
	if s.spec.Corpus == "" {
		return 0
	}
	return len(s.contents)
}

// Rcpts is the recipient count range.
func (s *Set) Rcpts() Range { return s.rcpts }

// Sizes is the generated body size mix (empty when not generated).
func (s *Set) Sizes() Sizes {
	if !s.gen {
		return Sizes{}
	}
	return s.sizes
}

// Sample returns message seq's content in DATA form, for showing and
// checking what a run sends.
func (s *Set) Sample(seq uint64) []byte {
	var m session.Message
	s.Fill(&m, seq)
	m.Worker, m.Conn = 1, 1
	return m.Content.AppendData(nil, &m)
}
