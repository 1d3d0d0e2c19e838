#!/usr/bin/env bash
# How smtpbench holds many sessions, against Postfix's smtp-source.
#
# For C = 100, 1000 and 10000 sessions, against the built-in sink in its own
# process answering every end of data after 1 s (so the ideal rate is C
# messages per second), it runs alternately, ROUNDS times each:
#   A: smtpbench run -c C -d 10s --size 1000 -o json
#   B: smtp-source -s C -m 10*C -l 1000 -d
# and prints per tool and C the medians of: peak RSS, wall time from start to
# exit, messages/s against the ideal, CPU (user+sys) per message; for
# smtpbench also how long the drain after the stop and the report took. The
# last lines give the RSS per session, (RSS at 10000 - RSS at 100) / 9900.
#
# Usage: bench/scale.sh [ROUNDS]   (default 1; needs Debian's postfix and time,
# and an open-file limit of at least 20000: ulimit -n 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rounds=${1:-1}
PATH="$PATH:/usr/sbin"
need "Debian: apt-get install postfix time python3" smtp-source /usr/bin/time python3
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 20000 ]; then
	echo "open-file limit $(ulimit -n) is below 20000: 10000 sessions cannot fit" >&2
	exit 1
fi

sink_pid=
with_work sink_pid

go build -o "$work/smtpbench" ./cmd/smtpbench
port=$(free_port)
"$work/smtpbench" sink --listen "127.0.0.1:$port" --delay body=1s >"$work/sink.log" 2>&1 &
sink_pid=$!
wait_port "$port"

# sink_cpu prints the sink's CPU seconds so far (Linux /proc).
hz=$(getconf CLK_TCK)
sink_cpu() { awk -v hz="$hz" '{printf "%.3f\n", ($14 + $15) / hz}' "/proc/$sink_pid/stat"; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# timed OUT CMD...: runs CMD under /usr/bin/time; OUT gets "wall cpu rss_kb".
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" ||
		{ echo "failed: $*" >&2; tail -5 "$work/stderr" >&2; exit 1; }
	awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$work/time" >"$out"
}

: >"$work/rows"
for c in 100 1000 10000; do
	for r in $(seq "$rounds"); do
		# A: smtpbench, 10 s of load.
		s0=$(sink_cpu)
		timed "$work/a" "$work/smtpbench" run -c "$c" -d 10s --size 1000 -o json "127.0.0.1:$port"
		read -r aw ac arss <"$work/a"
		sa=$(awk -v a="$s0" -v b="$(sink_cpu)" 'BEGIN {print b - a}')
		python3 - "$work/stdout" "$c" "$aw" "$ac" "$arss" "$sa" >>"$work/rows" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c, wall, cpu, rss, sink = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
ok = j["totals"]["messages_ok"]
load = j["stopped_at_s"]
rate = ok / load
inflight = max(0.0, j["last_message_at_s"] - load)
report = wall - max(j["last_message_at_s"], load)
g = j.get("generator", {})
ws = " ".join(j["warnings"])
if "generator is overloaded" in ws or "% of 2 CPUs: it may be the bottleneck" in ws or "may be the bottleneck" in ws:
    limit = "generator"
elif "other processes on this machine" in ws:
    limit = "sink, which shares the CPUs (smtpbench waited for them, using few itself)"
else:
    limit = "sink"
print(f"smtpbench {c} {rss/1024:.1f} {wall:.2f} {rate:.0f} {100*rate/c:.1f} {1e6*cpu/max(ok,1):.1f} {inflight:.2f} {report:.2f} {1e6*sink/max(ok,1):.1f} {g.get('cpu_percent', 0):.0f} {g.get('sched_delay_p99_ms', 0):.1f} {limit}")
PY
		# B: smtp-source, the same ten messages per session.
		s0=$(sink_cpu)
		timed "$work/b" smtp-source -s "$c" -m "$((10 * c))" -l 1000 -d "127.0.0.1:$port"
		read -r bw bc brss <"$work/b"
		sb=$(awk -v a="$s0" -v b="$(sink_cpu)" 'BEGIN {print b - a}')
		awk -v c="$c" -v w="$bw" -v cpu="$bc" -v rss="$brss" -v sink="$sb" 'BEGIN {
			n = 10 * c; rate = n / w
			printf "smtp-source %d %.1f %.2f %.0f %.1f %.1f - - %.1f - - -\n", c, rss/1024, w, rate, 100*rate/c, 1e6*cpu/n, 1e6*sink/n }' >>"$work/rows"
		printf '  C=%d round %d: smtpbench %ss wall %ss cpu %s KB | smtp-source %ss wall %ss cpu %s KB\n' \
			"$c" "$r" "$aw" "$ac" "$arss" "$bw" "$bc" "$brss" >&2
	done
done

col() { awk -v t="$1" -v c="$2" -v k="$3" '$1 == t && $2 == c {print $k}' "$work/rows" | median; }
echo
printf '%-12s %6s %8s %7s %7s %8s %11s %10s %12s %12s\n' tool sessions "RSS MB" "wall s" "msg/s" "% ideal" "CPU us/msg" "in-flight" "stop→report" "sink us/msg"
for tool in smtpbench smtp-source; do
	for c in 100 1000 10000; do
		if [ "$tool" = smtpbench ]; then d=$(col $tool $c 8); rp=$(col $tool $c 9); else d=-; rp=-; fi
		printf '%-12s %6d %8s %7s %7s %8s %11s %10s %12s %12s\n' "$tool" "$c" "$(col $tool $c 3)" "$(col $tool $c 4)" \
			"$(col $tool $c 5)" "$(col $tool $c 6)" "$(col $tool $c 7)" "$d" "$rp" "$(col $tool $c 10)"
	done
done
echo
# Which side limited each smtpbench run, from its own report: any warning
# about the generator (CPU, scheduling delay) means smtpbench; else the sink.
awk '$1 == "smtpbench" {l = $13; for (i = 14; i <= NF; i++) l = l " " $i
	printf "smtpbench C=%d: generator CPU %s%% of all cores, scheduling delay p99 %s ms; the limit was the %s\n", $2, $11, $12, l}' "$work/rows"
echo
for tool in smtpbench smtp-source; do
	awk -v a="$(col $tool 100 3)" -v b="$(col $tool 10000 3)" -v t="$tool" \
		'BEGIN {printf "%s: RSS per session %.1f KB ((RSS at 10000 - RSS at 100) / 9900)\n", t, (b - a) * 1024 / 9900}'
done
echo
echo "A = smtpbench run -c C -d 10s --size 1000; B = smtp-source -s C -m 10C -l 1000 -d; sink: smtpbench sink --delay body=1s (ideal C msg/s)."
echo "smtpbench msg/s is messages_ok over the load (stopped_at_s); smtp-source's is its messages over its wall time."
echo "sink us/msg = the sink's own CPU time per message during that run (both processes share the machine's CPUs)."
echo "in-flight = from the stop to the last message decided; stop→report = from then (or the stop) to the process exit: QUIT, close, report. Medians over $rounds round(s)."
