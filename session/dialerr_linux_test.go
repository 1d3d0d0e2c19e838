package session

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// emfileChild marks the child process of TestDialOutOfFDs.
const emfileChild = "SMTPBENCH_TEST_EMFILE_CHILD"

// TestDialOutOfFDs runs itself in a child process, which lowers its open-file
// limit, fills its descriptor table and then dials: the connect must fail as
// local_fds. The child keeps the lowered limit away from the other tests.
func TestDialOutOfFDs(t *testing.T) {
	if os.Getenv(emfileChild) == "1" {
		dialOutOfFDs(t)
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDialOutOfFDs$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), emfileChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dial failed as local_fds") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func dialOutOfFDs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	// Fill the table; at most the limit's worth of opens can succeed.
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for range rl.Cur + 1 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		files = append(files, f)
	}
	c, err := Dial(t.Context(), ln.Addr().String(), Options{Timeout: 5 * time.Second})
	if c != nil {
		c.Close()
		t.Fatal("Dial succeeded with no descriptor free")
	}
	var se *Error
	if !errors.As(err, &se) || se.Class != ClassLocalFDs {
		t.Fatalf("Dial: %v, want class %v", err, ClassLocalFDs)
	}
	t.Logf("dial failed as %v: %v", se.Class, err)
}
