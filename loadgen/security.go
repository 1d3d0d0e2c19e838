package loadgen

import (
	"crypto/tls"
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
// TLS mode (465 for implicit TLS, RFC 8314 7.3).
func (s *Security) ParseTarget(arg string) (string, error) {
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
