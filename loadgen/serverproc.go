package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/servercost"
)

// Defaults of a started server.
const (
	// DefaultServerStartTimeout bounds the wait for a started server's
	// greeting.
	DefaultServerStartTimeout = 30 * time.Second
	// DefaultServerStopGrace is how long a server has to exit after
	// SIGTERM before its process group is killed.
	DefaultServerStopGrace = 10 * time.Second
)

// ErrServerCommandUnsupported is returned where a server cannot be run in
// a process group of its own.
var ErrServerCommandUnsupported = errors.New("starting a server command needs process groups (Unix)")

// ServerCommand is a server build that ab or sweep starts before a run and
// stops after it, so that only one build runs at a time and each starts
// cold.
type ServerCommand struct {
	// Command runs through "sh -c", in a process group of its own; it must
	// keep the server in the foreground (a server that detaches into a
	// daemon of its own session escapes the group and its measurement).
	Command string
	// Addr is the HOST:PORT the server answers on; it is started once the
	// server there sends a 220 greeting.
	Addr string
	// StartTimeout bounds the wait for the greeting (default
	// DefaultServerStartTimeout).
	StartTimeout time.Duration
	// StopGrace is how long the group has after SIGTERM before SIGKILL
	// (default DefaultServerStopGrace).
	StopGrace time.Duration
	// LogDir is where the server's output goes, one file a start, named
	// after Name; a temporary directory when empty.
	LogDir string
	// Name labels the output file, e.g. "A-round1".
	Name string
}

// StartedServer is a running server command.
type StartedServer struct {
	cmd     *exec.Cmd
	log     *os.File
	LogPath string
	exited  chan struct{}
	waitErr error
	grace   time.Duration
}

// PID is the process ID of the server's shell, the leader of its group;
// measuring it with its descendants measures the server.
func (s *StartedServer) PID() int { return s.cmd.Process.Pid }

// StartServer starts sc.Command and waits for its greeting on sc.Addr. If
// the command exits first, the wait times out, or ctx ends, the process
// group is stopped and the error quotes the last lines of its output.
func StartServer(ctx context.Context, sc ServerCommand) (*StartedServer, error) {
	if sc.StartTimeout <= 0 {
		sc.StartTimeout = DefaultServerStartTimeout
	}
	if sc.StopGrace <= 0 {
		sc.StopGrace = DefaultServerStopGrace
	}
	if !processGroups {
		return nil, ErrServerCommandUnsupported
	}
	// A server already answering here would be measured in place of the
	// one started, or make it fail to bind.
	if greets(ctx, sc.Addr, 500*time.Millisecond) == nil {
		return nil, fmt.Errorf("%s answers before %q was started: stop the server there first", sc.Addr, sc.Command)
	}
	dir := sc.LogDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "smtpbench-server-"); err != nil {
			return nil, err
		}
	}
	name := sc.Name
	if name == "" {
		name = "server"
	}
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", sc.Command)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = ownGroup()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %q: %v", sc.Command, err)
	}
	s := &StartedServer{cmd: cmd, log: log, LogPath: log.Name(), exited: make(chan struct{}), grace: sc.StopGrace}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	deadline := time.NewTimer(sc.StartTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	var last error
	for {
		select {
		case <-s.exited:
			s.Stop()
			return nil, fmt.Errorf("%q exited (%v) before %s greeted%s", sc.Command, s.waitErr, sc.Addr, s.tail())
		case <-deadline.C:
			s.Stop()
			return nil, fmt.Errorf("%q: no 220 greeting on %s within %s (last try: %v)%s", sc.Command, sc.Addr, sc.StartTimeout, last, s.tail())
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("%q: stopped while starting: %w", sc.Command, ctx.Err())
		case <-poll.C:
			if last = greets(ctx, sc.Addr, time.Second); last == nil {
				return s, nil
			}
		}
	}
}

// greets reports (as nil) whether a server at addr sends a 220 greeting
// (RFC 5321 4.2) within wait.
func greets(ctx context.Context, addr string, wait time.Duration) error {
	d := net.Dialer{Timeout: wait}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the greeting: %v", err)
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q is not 220", strings.TrimSpace(line))
	}
	conn.Write([]byte("QUIT\r\n"))
	return nil
}

// Stop ends the server: SIGTERM to its process group, SIGKILL to the group
// after the grace period, and it waits until the group's leader is reaped.
// It returns an error when the group had to be killed. Stop may be called
// more than once.
func (s *StartedServer) Stop() error {
	pgid := s.cmd.Process.Pid
	var err error
	if groupAlive(pgid) {
		signalGroup(pgid, false)
		t := time.NewTimer(s.grace)
		defer t.Stop()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
	wait:
		for groupAlive(pgid) {
			select {
			case <-t.C:
				signalGroup(pgid, true)
				err = fmt.Errorf("the server's process group %d was still running %s after SIGTERM: killed", pgid, s.grace)
				break wait
			case <-tick.C:
			}
		}
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		signalGroup(pgid, true)
		<-s.exited
	}
	s.log.Close()
	return err
}

// Exited reports whether the server's shell has exited.
func (s *StartedServer) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// tail is the last lines of the server's output, for an error message.
func (s *StartedServer) tail() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return " (no output; log " + s.LogPath + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "; its last output (" + s.LogPath + "):\n  " + strings.Join(lines, "\n  ")
}

// ServerStartError says a server command could not be started; the run
// never began.
type ServerStartError struct{ Err error }

func (e *ServerStartError) Error() string { return e.Err.Error() }
func (e *ServerStartError) Unwrap() error { return e.Err }

// ServerRunner runs benchmarks against a server it starts itself, and
// measures the server's cost from the started process tree.
type ServerRunner struct {
	Command ServerCommand
	// RestartEachRun stops the server after every run and starts it again
	// before the next, so that each run meets a cold server; otherwise
	// one server serves every run until Close.
	RestartEachRun bool
	current        *StartedServer
	starts         int
}

// Run starts the server if none is running, runs cfg against it with its
// cost measured, and stops it again when RestartEachRun is set. A server
// that cannot be stopped in time is killed and the result says so.
func (sr *ServerRunner) Run(ctx context.Context, cfg Config, abort <-chan struct{}) (*report.Result, error) {
	if sr.current != nil && sr.current.Exited() {
		// It died after an earlier run (the report of that run says so):
		// start it again rather than measure nothing.
		sr.Close()
	}
	if sr.current == nil {
		sc := sr.Command
		sr.starts++
		sc.Name = fmt.Sprintf("%s-%d", sc.Name, sr.starts)
		s, err := StartServer(ctx, sc)
		if err != nil {
			return nil, &ServerStartError{err}
		}
		sr.current = s
	}
	cfg.Server = servercost.Source{PIDs: []int{sr.current.PID()}}
	res, err := Run(ctx, cfg, abort)
	if sr.current.Exited() && res != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the server command %q exited during the run%s", sr.Command.Command, sr.current.tail()))
	}
	if sr.RestartEachRun || err != nil {
		if stopErr := sr.Close(); stopErr != nil && res != nil {
			res.Warnings = append(res.Warnings, stopErr.Error())
		}
	}
	return res, err
}

// Close stops the running server, if any.
func (sr *ServerRunner) Close() error {
	if sr == nil || sr.current == nil {
		return nil
	}
	err := sr.current.Stop()
	sr.current = nil
	return err
}

// Prepare checks the command's settings and makes its LogDir (a new
// temporary directory when empty), before any load. Its refusals are
// ConfigErrors on Command, StartTimeout and StopGrace; a directory that
// cannot be made is any other error.
func (c *ServerCommand) Prepare() error {
	switch {
	case strings.TrimSpace(c.Command) == "":
		return relation("Command", ": want a command")
	case !servercost.Supported:
		return relation("Command", ": "+servercost.ErrUnsupported.Error())
	case c.StartTimeout <= 0 || c.StopGrace <= 0:
		return relation("StartTimeout", " and {StopGrace}: want positive durations")
	}
	var err error
	if c.LogDir == "" {
		c.LogDir, err = os.MkdirTemp("", "smtpbench-servers-")
	} else {
		err = os.MkdirAll(c.LogDir, 0o755)
	}
	return err
}
