package main

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSilentServerGetsTheHint: plain SMTP to a server that sends nothing
// first (implicit TLS, an HTTP server) gets the hint whatever the timeouts,
// and the end of the run's grace is not reported as an abort.
func TestSilentServerGetsTheHint(t *testing.T) {
	servers := map[string]string{"sink --implicit-tls": startSinkProcess(t, "--implicit-tls")}
	if py, err := exec.LookPath("python3"); err == nil {
		var addr string
		for range 3 {
			addr = freeAddr(t)
			_, port, _ := net.SplitHostPort(addr)
			if _, err = startProcessPorts(t, []string{port}, py, "-m", "http.server", port, "--bind", "127.0.0.1"); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		servers["python3 -m http.server"] = addr
	} else {
		skipOrFailInCI(t, "python3 not found: the HTTP server case is not run")
	}
	for name, addr := range servers {
		for _, timeouts := range [][]string{
			{"-d", "1s", "--grace", "1s"},                       // --timeout (30s) far beyond the run
			{"-d", "2s", "--timeout", "500ms", "--grace", "1s"}, // --timeout within it
		} {
			t.Run(name+" "+strings.Join(timeouts, " "), func(t *testing.T) {
				start := time.Now()
				args := append([]string{"run", "-c", "2"}, timeouts...)
				code, out, stderr := cliRun(t, append(args, addr)...)
				if code != exitRun {
					t.Errorf("exit %d, want 1", code)
				}
				if !strings.Contains(stderr, "not an SMTP server, or TLS on connect?") {
					t.Errorf("stderr lacks the hint: %q", stderr)
				}
				if strings.Contains(out+stderr, "aborted") {
					t.Errorf("no one aborted this run, but the report says so:\n%s\n%s", out, stderr)
				}
				if el := time.Since(start); el > 10*time.Second {
					t.Errorf("took %s", el)
				}
			})
		}
	}
}
