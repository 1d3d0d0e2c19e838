//go:build linux

package servercost

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the times in /proc/PID/stat. Linux has fixed
// USER_HZ at 100 on every architecture Go supports.
const clockTick = 10 * time.Millisecond

var pageSize = int64(os.Getpagesize())

func open(src Source) (reader, error) {
	if src.Cgroup != "" {
		return openCgroup(src.Cgroup)
	}
	return openTree("/proc", src.PIDs)
}

// procKey names one process across its life: a PID is reused after its
// process is reaped, its start time is not.
type procKey struct {
	pid   int
	start uint64
}

// procStat is what the tree reader takes from /proc/PID/stat.
type procStat struct {
	ppid      int
	start     uint64
	self      uint64 // utime + stime, clock ticks
	children  uint64 // cutime + cstime: children this process has reaped
	rssPages  int64
	processed bool
}

// seen is what was last read of a process of the tree.
type seen struct {
	ppid     int
	self     uint64
	children uint64
	base     uint64 // self + children at the baseline: not the run's
}

// tree reads the CPU and memory of root processes and all their
// descendants. CPU is counted in steps: what each process used since the
// last reading, plus what its reaped children used beyond what was already
// counted of them while they lived, so a child that comes and goes between
// two readings is still counted, through its parent's cutime.
type tree struct {
	proc    string
	roots   []int
	last    map[procKey]seen
	total   uint64 // clock ticks since the baseline
	rootsOK map[int]bool
	scanBuf []byte
}

func openTree(proc string, pids []int) (*tree, error) {
	t := &tree{proc: proc, roots: pids, rootsOK: map[int]bool{}}
	for _, pid := range pids {
		if pid <= 0 {
			return nil, fmt.Errorf("server PID %d: want a positive process ID", pid)
		}
		if _, err := t.stat(pid); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("server PID %d: no such process", pid)
			}
			return nil, fmt.Errorf("server PID %d: %v", pid, err)
		}
	}
	// The baseline: what the tree used before the run is not counted.
	procs, err := t.scan()
	if err != nil {
		return nil, err
	}
	t.last = map[procKey]seen{}
	for k, st := range procs {
		t.last[k] = seen{ppid: st.ppid, self: st.self, children: st.children}
	}
	return t, nil
}

func (t *tree) method() string { return MethodTree }

func (t *tree) notes() []string {
	return []string{"process tree: CPU of a descendant that another process (init, after a double fork) reaps is counted only up to the last reading before it exited"}
}

func (t *tree) read() (time.Duration, int64, int, bool, error) {
	procs, err := t.scan()
	if err != nil {
		return 0, 0, 0, false, err
	}
	// Processes of the last reading that are gone now, by parent: their
	// parent's cutime has grown by their final figures, of which the part
	// already counted must not be counted again.
	counted := map[int]uint64{}
	for k, s := range t.last {
		if _, ok := procs[k]; !ok {
			counted[s.ppid] += s.self + s.children
		}
	}
	var rss int64
	next := make(map[procKey]seen, len(procs))
	for k, st := range procs {
		prev, old := t.last[k]
		if !old {
			prev = seen{} // born since the last reading: all its CPU is new
		}
		if st.self >= prev.self {
			t.total += st.self - prev.self
		}
		if st.children > prev.children {
			d := st.children - prev.children
			d -= min(d, counted[k.pid])
			t.total += d
		}
		rss += st.rssPages * pageSize
		next[k] = seen{ppid: st.ppid, self: st.self, children: st.children}
	}
	t.last = next
	return time.Duration(t.total) * clockTick, rss, len(procs), len(procs) == 0, nil
}

// scan reads every process of /proc once and keeps the roots and their
// descendants. Reading all of /proc costs more than following
// /proc/PID/task/TID/children, but that file needs a kernel option and
// misses children of threads other than the ones listed.
func (t *tree) scan() (map[procKey]procStat, error) {
	d, err := os.Open(t.proc)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	all := make(map[int]procStat, len(names))
	kids := map[int][]int{}
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		st, err := t.stat(pid)
		if err != nil {
			continue // exited while we read
		}
		all[pid] = st
		kids[st.ppid] = append(kids[st.ppid], pid)
	}
	out := map[procKey]procStat{}
	queue := append([]int(nil), t.roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		st, ok := all[pid]
		if !ok || st.processed {
			continue
		}
		st.processed = true
		all[pid] = st
		out[procKey{pid, st.start}] = st
		queue = append(queue, kids[pid]...)
	}
	return out, nil
}

func (t *tree) stat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(t.proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// parseStat reads /proc/PID/stat (proc(5)). The command name, field 2, is
// in parentheses and may hold spaces and parentheses itself, so fields are
// counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 22 {
		return procStat{}, errors.New("short stat")
	}
	num := func(n int) uint64 { v, _ := strconv.ParseUint(f[n-3], 10, 64); return v }
	ppid, _ := strconv.Atoi(f[4-3])
	rss, _ := strconv.ParseInt(f[24-3], 10, 64)
	return procStat{
		ppid:     ppid,
		self:     num(14) + num(15),
		children: num(16) + num(17),
		start:    num(22),
		rssPages: rss,
	}, nil
}
