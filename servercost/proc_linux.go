//go:build linux

package servercost

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
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
	proc  string
	roots []int
	// rootStart is each root's start time: once a root exits its PID may
	// be given to an unrelated process, which must not pass for the
	// server (on a busy machine PIDs wrap within seconds).
	rootStart map[int]uint64
	last      map[procKey]seen
	total     uint64 // clock ticks since the baseline
	// outside holds processes found outside the tree, by PID with their
	// start time: a process does not change its parent to one in the tree
	// (but for a subreaper's orphans), so their stat is not read again
	// until a full scan, every fullScanEvery readings.
	outside map[int]uint64
	scans   int
	buf     []byte
	path    []byte
}

// fullScanEvery is how often a reading reads every process's stat again.
const fullScanEvery = 10

func openTree(proc string, pids []int) (*tree, error) {
	t := &tree{proc: proc, roots: pids, rootStart: map[int]uint64{}, outside: map[int]uint64{}, buf: make([]byte, 1024)}
	for _, pid := range pids {
		if pid <= 0 {
			return nil, fmt.Errorf("server PID %d: want a positive process ID", pid)
		}
		st, err := t.stat(pid)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("server PID %d: no such process", pid)
			}
			return nil, fmt.Errorf("server PID %d: %v", pid, err)
		}
		t.rootStart[pid] = st.start
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
	full := t.scans%fullScanEvery == 0
	t.scans++
	if full {
		clear(t.outside)
	}
	all := make(map[int]procStat, len(t.last)+8)
	kids := map[int][]int{}
	present := make(map[int]bool, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		present[pid] = true
		if _, out := t.outside[pid]; out {
			continue
		}
		st, err := t.stat(pid)
		if err != nil {
			continue // exited while we read
		}
		all[pid] = st
		kids[st.ppid] = append(kids[st.ppid], pid)
	}
	for pid := range t.outside {
		if !present[pid] {
			delete(t.outside, pid) // gone: its PID may come back as another
		}
	}
	out := map[procKey]procStat{}
	var queue []int
	for _, pid := range t.roots {
		if st, ok := all[pid]; ok && st.start == t.rootStart[pid] {
			queue = append(queue, pid)
		}
	}
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
	for pid, st := range all {
		if !st.processed {
			t.outside[pid] = st.start
		}
	}
	return out, nil
}

// stat reads /proc/PID/stat with one open, one read and one close into a
// reused buffer: a tree of hundreds of processes is read every second.
func (t *tree) stat(pid int) (procStat, error) {
	t.path = append(append(append(t.path[:0], t.proc...), '/'), strconv.Itoa(pid)...)
	t.path = append(t.path, "/stat"...)
	fd, err := syscall.Open(string(t.path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return procStat{}, &os.PathError{Op: "open", Path: string(t.path), Err: err}
	}
	n, err := syscall.Read(fd, t.buf)
	syscall.Close(fd)
	if err != nil {
		return procStat{}, err
	}
	if n == len(t.buf) {
		// A name and figures longer than the buffer: read it whole.
		b, err := os.ReadFile(string(t.path))
		if err != nil {
			return procStat{}, err
		}
		return parseStat(b)
	}
	return parseStat(t.buf[:n])
}

// parseStat reads /proc/PID/stat (proc(5)). The command name, field 2, is
// in parentheses and may hold spaces and parentheses itself, so fields are
// counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat")
	}
	// Field N (from 1) of proc(5) is the (N-2)th after the name.
	var f [25]uint64
	field, inNum := 2, false
	for _, c := range b[i+1:] {
		if c == ' ' || c == '\n' {
			inNum = false
			continue
		}
		if !inNum {
			inNum = true
			field++
			if field >= len(f) {
				break
			}
		}
		if c >= '0' && c <= '9' {
			f[field] = f[field]*10 + uint64(c-'0')
		}
	}
	if field < 24 {
		return procStat{}, errors.New("short stat")
	}
	return procStat{
		ppid:     int(f[4]),
		self:     f[14] + f[15],
		children: f[16] + f[17],
		start:    f[22],
		rssPages: int64(f[24]),
	}, nil
}
