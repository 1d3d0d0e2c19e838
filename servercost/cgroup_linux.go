//go:build linux

package servercost

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cgroup reads a cgroup's CPU and memory counters, which include every
// process that ever ran in the group, reaped by whomever: the complete
// figure a process tree cannot give.
type cgroup struct {
	v2             bool
	cpuFile        string // v2: cpu.stat; v1: cpuacct.usage
	memFile        string // v2: memory.current; v1: memory.usage_in_bytes
	base           time.Duration
	memNote, paths string
}

func openCgroup(path string) (*cgroup, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("server cgroup %s: %v", path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("server cgroup %s: not a directory", path)
	}
	has := func(dir, f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }
	c := &cgroup{}
	switch {
	case has(path, "cgroup.controllers"):
		c.v2 = true
		if !has(path, "cpu.stat") {
			return nil, fmt.Errorf("server cgroup %s: a cgroup v2 group without cpu.stat", path)
		}
		c.cpuFile = filepath.Join(path, "cpu.stat")
		if has(path, "memory.current") {
			c.memFile = filepath.Join(path, "memory.current")
		} else {
			c.memNote = "cgroup " + path + ": the memory controller is not enabled for this group (no memory.current): memory not measured"
		}
		c.paths = path
	case has(path, "cpuacct.usage"), has(path, "memory.usage_in_bytes"):
		cpuDir, memDir := v1Sibling(path, "cpuacct"), v1Sibling(path, "memory")
		if cpuDir == "" || !has(cpuDir, "cpuacct.usage") {
			return nil, fmt.Errorf("server cgroup %s: cannot find this group's cpuacct directory of cgroup v1 (tried %s)", path, cpuDir)
		}
		c.cpuFile = filepath.Join(cpuDir, "cpuacct.usage")
		if memDir != "" && has(memDir, "memory.usage_in_bytes") {
			c.memFile = filepath.Join(memDir, "memory.usage_in_bytes")
			c.paths = cpuDir + " and " + memDir
		} else {
			c.memNote = "cgroup " + path + ": no memory directory of cgroup v1 for this group: memory not measured"
			c.paths = cpuDir
		}
	default:
		return nil, fmt.Errorf("server cgroup %s: not a cgroup (neither cgroup.controllers of v2 nor cpuacct.usage or memory.usage_in_bytes of v1)", path)
	}
	cpu, err := c.cpu()
	if err != nil {
		return nil, fmt.Errorf("server cgroup %s: %v", path, err)
	}
	c.base = cpu
	return c, nil
}

// v1Sibling finds the directory of the same group under another v1
// controller: v1 mounts each controller (or a few together, as
// cpu,cpuacct) at /sys/fs/cgroup/NAME, with the group's path repeated
// below each.
func v1Sibling(path, controller string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	var from, to string
	sc := bufio.NewScanner(bytes.NewReader(mounts))
	for sc.Scan() {
		// Fields: id parent major:minor root mountpoint options ... - fstype source superoptions
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 >= len(f) || f[sep+1] != "cgroup" || len(f) < 5 {
			continue
		}
		mnt := f[4]
		opts := strings.Split(f[sep+3], ",")
		for _, o := range opts {
			if o == controller {
				to = mnt
			}
		}
		if strings.HasPrefix(abs+"/", mnt+"/") && len(mnt) > len(from) {
			from = mnt
		}
	}
	if from == "" || to == "" {
		return ""
	}
	return filepath.Join(to, strings.TrimPrefix(abs, from))
}

func (c *cgroup) method() string {
	if c.v2 {
		return MethodCgroupV2
	}
	return MethodCgroupV1
}

func (c *cgroup) notes() []string {
	n := []string{"cgroup " + c.paths + ": memory is the group's usage, page cache included"}
	if c.memNote != "" {
		n = append(n, c.memNote)
	}
	return n
}

func (c *cgroup) cpu() (time.Duration, error) {
	b, err := os.ReadFile(c.cpuFile)
	if err != nil {
		return 0, err
	}
	if !c.v2 {
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", c.cpuFile, err)
		}
		return time.Duration(ns), nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			us, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %v", c.cpuFile, err)
			}
			return time.Duration(us) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("%s: no usage_usec", c.cpuFile)
}

func (c *cgroup) read() (time.Duration, int64, int, bool, error) {
	cpu, err := c.cpu()
	if err != nil {
		return 0, 0, 0, false, err
	}
	var mem int64
	if c.memFile != "" {
		b, err := os.ReadFile(c.memFile)
		if err != nil {
			return 0, 0, 0, false, err
		}
		mem, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	return cpu - c.base, mem, 0, false, nil
}
