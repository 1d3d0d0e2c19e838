package delivery

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func header(token string, seq uint64) []byte {
	return fmt.Appendf(nil, "From: <a@b>\r\nMessage-ID: <smtpbench.%s.%d@smtpbench.test>\r\nSubject: x\r\n\r\n", token, seq)
}

// The cases a receiver meets, each with exact counts: a normal arrival,
// one before its answer, recipients split over transactions, duplicates,
// a failure that arrives, a loss, and arrivals that are not ours.
func TestTrackerCounts(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tr := NewTracker("abc", 0, 1, t0)

	tr.Answered(1, at(0), at(10), true, 1) // normal
	tr.Arrived(header("abc", 1), 1, at(110))

	tr.Arrived(header("abc", 2), 1, at(15)) // arrives before its answer is read
	tr.Answered(2, at(0), at(20), true, 1)

	tr.Answered(3, at(0), at(10), true, 3) // three recipients, three transactions
	for range 3 {
		tr.Arrived(header("abc", 3), 1, at(50))
	}

	tr.Answered(4, at(0), at(10), true, 1) // duplicated
	tr.Arrived(header("abc", 4), 1, at(60))
	tr.Arrived(header("abc", 4), 1, at(70))

	tr.Answered(5, at(0), at(10), false, 1) // failed, but arrived
	tr.Arrived(header("abc", 5), 1, at(80))

	tr.Arrived(header("abc", 6), 1, at(5)) // arrived, then its answer said failure
	tr.Answered(6, at(0), at(10), false, 1)

	tr.Answered(7, at(0), at(10), true, 1) // lost

	tr.Arrived(header("abc", 8), 2, at(5)) // both recipients at once, before the answer, then twice again: 2 duplicates
	tr.Arrived(header("abc", 8), 1, at(6))
	tr.Arrived(header("abc", 8), 1, at(7))
	tr.Answered(8, at(0), at(10), true, 2)

	tr.Arrived(header("other", 1), 1, at(90)) // another run
	tr.Arrived([]byte("Subject: no id\r\n\r\n"), 1, at(90))
	tr.Arrived(header("abc", 999), 1, at(90)) // ours by token, never sent

	d := tr.Finish("test", time.Second, false)
	want := struct{ acc, del, lost, dup, str, unans int64 }{6, 7, 1, 3, 3, 2}
	got := struct{ acc, del, lost, dup, str, unans int64 }{d.Accepted, d.Delivered, d.Lost, d.Duplicates, d.Strangers, d.UnansweredDelivered}
	if got != want {
		t.Errorf("accepted, delivered, lost, duplicates, strangers, unanswered = %+v, want %+v", got, want)
	}
	if n := d.DeliveryHist.TotalCount(); n != 5 {
		t.Errorf("delivery samples %d, want 5 (the accepted ones that arrived)", n)
	}
	if p := d.DeliveryHist.Max(); p < 99_000 || p > 101_000 {
		t.Errorf("longest delivery %d µs, want 100 ms", p)
	}
}

// Split jobs number messages offset+1, offset+1+stride, …: another
// generator's numbers are strangers, not ours.
func TestTrackerStride(t *testing.T) {
	tr := NewTracker("abc", 1, 3, time.Now()) // 2, 5, 8, …
	now := time.Now()
	tr.Answered(5, now, now, true, 1)
	tr.Arrived(header("abc", 5), 1, now)
	tr.Arrived(header("abc", 4), 1, now)
	d := tr.Finish("x", 0, false)
	if d.Delivered != 1 || d.Strangers != 1 || d.Lost != 0 {
		t.Fatalf("delivered %d strangers %d lost %d, want 1 1 0", d.Delivered, d.Strangers, d.Lost)
	}
}

// A long run holds no state per delivered message: after 300,000
// messages that all arrived, 100 in flight at any time, the tracker's heap
// has grown by less than a megabyte (one bit per message until its block of
// 4096 is complete, then nothing).
func TestTrackerMemoryFollowsInFlight(t *testing.T) {
	tr := NewTracker("abc", 0, 1, time.Now())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	now := time.Now()
	h := header("abc", 0)
	const inFlight, messages = 100, 300_000
	for seq := uint64(1); seq <= messages; seq++ {
		tr.Answered(seq, now, now, true, 1)
		if seq > inFlight {
			tr.Arrived(h[:0:0], 0, now) // a stranger costs nothing either
			tr.Arrived(header("abc", seq-inFlight), 1, now)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Errorf("heap grew by %d bytes over %d delivered messages", grown, messages)
	}
	if n := len(tr.out); n != inFlight {
		t.Errorf("%d entries outstanding, want %d", n, inFlight)
	}
}

// What the tracker adds per message: one Answered and one Arrived.
func BenchmarkTracker(b *testing.B) {
	tr := NewTracker("abc", 0, 1, time.Now())
	prefix := []byte("Message-ID: <smtpbench.abc.")
	buf := make([]byte, 0, 128)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		seq := uint64(i + 1)
		tr.Answered(seq, now, now, true, 1)
		buf = append(strconv.AppendUint(append(buf[:0], prefix...), seq, 10), "@x>\r\n\r\n"...)
		tr.Arrived(buf, 1, now)
	}
}
