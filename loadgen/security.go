package loadgen

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// Security is what a run's TLS and AUTH settings resolve to, their files
// read (session.LoadTLS, session.LoadSecret), with the echo of each for
// the result's configuration.
type Security struct {
	Mode     session.TLSMode
	TLS      *tls.Config // nil without TLS
	Auth     *session.AuthOptions
	TLSEcho  *report.TLSConfig
	AuthEcho *report.AuthConfig
}

// ParseTarget is session.ParseTargetPort with the default port of the
// TLS mode (465 for implicit TLS, RFC 8314 7.3), or of LMTP (24).
func (s *Security) ParseTarget(arg string, lmtp bool) (string, error) {
	if lmtp {
		return session.ParseTargetPort(arg, 24)
	}
	return session.ParseTargetPort(arg, session.DefaultPort(s.Mode))
}

// Apply puts TLS and AUTH into the run's configuration and its echo.
// extra are the additional targets as given (HOST[:PORT][=WEIGHT]),
// parsed into cfg.Targets in order: under implicit TLS those given
// without a port get 465, as the main target does.
func (s *Security) Apply(cfg *Config, cj *report.RunConfig, extra []string) {
	for i, v := range extra {
		if s.Mode != session.TLSImplicit || i >= len(cfg.Targets) {
			break
		}
		if j := strings.LastIndexByte(v, '='); j >= 0 {
			v = v[:j]
		}
		if _, _, err := net.SplitHostPort(v); err == nil || strings.HasPrefix(v, "unix:") {
			continue
		}
		t := &cfg.Targets[i]
		host, _, _ := net.SplitHostPort(t.Addr)
		t.Addr = net.JoinHostPort(host, session.ImplicitTLSPort)
		if k := len(cj.Targets) - len(cfg.Targets) + i; k >= 0 && k < len(cj.Targets) {
			cj.Targets[k] = t.Addr + "=" + strconv.Itoa(t.Weight)
		}
	}
	cfg.Session.TLS = session.TLSOptions{Mode: s.Mode, Config: s.TLS}
	cfg.Session.Auth = s.Auth
	cj.TLS, cj.Auth = s.TLSEcho, s.AuthEcho
}

// StartBuiltinSink starts the built-in sink on a free loopback port as
// the run's target, matched to the run: TLS as asked, with a certificate
// made now that the run trusts; every session's user name with the run's
// secret; CHUNKING when the run sends BDAT. Its sessions do not busy-poll
// unless told to: the sink shares the generator's CPUs, and a spinning
// session would take the CPU the server needs to answer it. The caller
// stops the sink when the run has returned (not when its context ends:
// messages in flight after a first signal still need their server).
func StartBuiltinSink(cfg *Config, s *Security) (*sink.Server, error) {
	var scfg sink.Config
	if s.TLS != nil {
		cert, err := sink.SelfSigned("localhost", "127.0.0.1", "::1")
		if err != nil {
			return nil, err
		}
		scfg.TLS, scfg.ImplicitTLS = sink.ServerTLS(cert), s.Mode == session.TLSImplicit
		if s.TLS.RootCAs == nil {
			s.TLS.RootCAs = session.SystemRoots()
		}
		s.TLS.RootCAs.AddCert(cert.Leaf)
	}
	if s.Auth != nil {
		scfg.Users = map[string]string{}
		for w := 1; w <= cfg.Concurrency; w++ {
			scfg.Users[s.Auth.UserFor(w)] = string(s.Auth.Secret)
		}
	}
	scfg.Chunking = cfg.Session.Chunking != session.ChunkingOff
	srv, err := sink.Start("127.0.0.1:0", scfg)
	if err != nil {
		return nil, err
	}
	cfg.Target = srv.Addr()
	cfg.InProcessServer = true
	if cfg.Session.BusyPoll == 0 {
		cfg.Session.BusyPoll = -1
	}
	return srv, nil
}

// SecuritySpec is a run's TLS and AUTH as a user describes them: modes,
// versions and mechanisms as text, files by name. Load checks it and
// reads the files. Its refusals are ConfigErrors naming its fields, and
// session.LoadError for a file (Unreadable when it cannot be read at all).
type SecuritySpec struct {
	TLS                      string // none, starttls, opportunistic or implicit
	CA, SNI, TLSMin, TLSMax  string
	Cert, Key                string
	Insecure, Resume         bool
	Auth, User, PasswordFile string // Auth "": the strongest mechanism offered
	AuthPlaintext            bool
	Secret                   string // the secret when PasswordFile is not given
	SecretFrom               string // where Secret came from, for the echo
	Sessions                 int    // the most sessions, for the TLS session cache
	Given                    func(field string) bool
	Exposed                  func(mode uint32) // called when PasswordFile is readable by every user
}

func (s *SecuritySpec) given(f string) bool { return s.Given != nil && s.Given(f) }

// Load checks the spec and reads its files.
func (s *SecuritySpec) Load() (*Security, error) {
	mode, err := session.ParseTLSMode(s.TLS)
	if err != nil {
		return nil, relation("TLS", ": "+err.Error())
	}
	sec := &Security{Mode: mode}
	if mode == session.TLSNone {
		for _, name := range []string{"CA", "Insecure", "SNI", "TLSMin", "TLSMax", "Cert", "Key", "Resume"} {
			if s.given(name) {
				return nil, relation(name, " needs {TLS} starttls, opportunistic or implicit")
			}
		}
	} else if err := s.loadTLS(sec); err != nil {
		return nil, err
	}
	return sec, s.loadAuth(sec)
}

func (s *SecuritySpec) loadTLS(sec *Security) error {
	sec.TLSEcho = &report.TLSConfig{Mode: sec.Mode.String(), CA: s.CA, Insecure: s.Insecure, SNI: s.SNI,
		MinVersion: s.TLSMin, MaxVersion: s.TLSMax, ClientCert: s.Cert, Resume: s.Resume}
	files := session.TLSFiles{CA: s.CA, Insecure: s.Insecure, Cert: s.Cert, Key: s.Key, Resume: s.Resume, Sessions: s.Sessions}
	versions := map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}
	if files.MinVersion = versions[s.TLSMin]; files.MinVersion == 0 {
		return refuse("TLSMin", strconv.Quote(s.TLSMin), "want 1.2 or 1.3")
	}
	if files.MaxVersion = versions[s.TLSMax]; files.MaxVersion == 0 {
		return refuse("TLSMax", strconv.Quote(s.TLSMax), "want 1.2 or 1.3")
	}
	if files.MaxVersion < files.MinVersion {
		return relation("TLSMax", fmt.Sprintf(" %s is below {TLSMin} %s", s.TLSMax, s.TLSMin))
	}
	if s.SNI != "" {
		if strings.ContainsAny(s.SNI, " \t\r\n/:") {
			return refuse("SNI", strconv.Quote(s.SNI), "want a host name")
		}
		files.ServerName = s.SNI
	}
	if s.CA != "" && s.Insecure {
		return relation("CA", " and {Insecure} exclude each other: {Insecure} verifies nothing")
	}
	cfg, err := session.LoadTLS(files)
	if err != nil {
		return err
	}
	sec.TLS = cfg
	return nil
}

func (s *SecuritySpec) loadAuth(sec *Security) error {
	if s.User == "" {
		for _, name := range []string{"Auth", "PasswordFile", "AuthPlaintext"} {
			if s.given(name) {
				return relation(name, " needs {User}")
			}
		}
		return nil
	}
	if err := session.CheckUserTemplate(s.User); err != nil {
		return relation("User", ": "+err.Error())
	}
	mech := session.AuthAuto
	if s.Auth != "" {
		var err error
		if mech, err = session.ParseAuthMech(s.Auth); err != nil {
			return relation("Auth", ": "+err.Error())
		}
	}
	if sec.Mode == session.TLSNone && !s.AuthPlaintext {
		return relation("User", " without TLS would send the password in the clear: use {TLS}, or allow it with {AuthPlaintext} (RFC 4954 4)")
	}
	a := &session.AuthOptions{Mech: mech, User: s.User, AllowPlaintext: s.AuthPlaintext}
	from := "file"
	switch {
	case s.PasswordFile != "":
		secret, exposed, err := session.LoadSecret(s.PasswordFile)
		if exposed != 0 && s.Exposed != nil {
			s.Exposed(uint32(exposed))
		}
		if err != nil {
			return err
		}
		a.Secret = secret
	case s.Secret != "":
		from = s.SecretFrom
		a.Secret = session.Secret(s.Secret)
	default:
		return relation("User", " needs a password: give {PasswordFile} FILE or set {Secret}")
	}
	sec.Auth = a
	sec.AuthEcho = &report.AuthConfig{Mechanism: mech.String(), User: s.User, SecretFrom: from, PlaintextAllowed: s.AuthPlaintext}
	return nil
}
