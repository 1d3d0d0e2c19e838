#!/usr/bin/env bash
# Whether smtpbench's memory stays flat over a long run.
#
# Runs smtpbench run -c 50 --rate 2000 for DURATION (default 30m) against
# the built-in sink in its own process (answering every end of data after
# 1 ms), and prints smtpbench's resident memory (VmRSS) at 1, 5, 10 and 30
# minutes (those that fall within DURATION; each the median of five readings
# over the five seconds before) and at the end, the growth from
# minute 5 (or the first sample) to the last, the CPU per message, and the
# size of the JSON result. The goal: RSS at the end within 1 MB of minute 5.
#
# Usage: bench/soak.sh [DURATION]   (e.g. 30m, 12m, 90s; Linux, needs python3)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

duration=${1:-30m}
need "" python3
secs=$(python3 -c "
import re,sys
t=0
for n,u in re.findall(r'(\d+(?:\.\d+)?)(h|m|s)', '$duration'): t+=float(n)*{'h':3600,'m':60,'s':1}[u]
print(int(t))")
[ "$secs" -gt 0 ] || { echo "bad duration $duration" >&2; exit 2; }

sink_pid= run_pid=
with_work run_pid sink_pid

go build -o "$work/smtpbench" ./cmd/smtpbench
port=$(free_port)
"$work/smtpbench" sink --listen "127.0.0.1:$port" --delay body=1ms >"$work/sink.log" 2>&1 &
sink_pid=$!
wait_port "$port"

"$work/smtpbench" run -c 50 --rate 2000 -d "$duration" -o json --out "$work/result.json" "127.0.0.1:$port" >/dev/null 2>"$work/run.log" &
run_pid=$!
rss_now() { awk '/^VmRSS/ {print $2}' "/proc/$run_pid/status" 2>/dev/null || echo 0; }
# rss_kb: the median of five readings a second apart, so that one reading
# taken during a garbage collection does not decide the figure.
rss_kb() {
	for _ in 1 2 3 4 5; do rss_now; sleep 1; done | sort -n | sed -n 3p
}

echo "smtpbench run -c 50 --rate 2000 -d $duration against smtpbench sink --delay body=1ms (own process)"
start=$(date +%s)
declare -A at
for m in 1 5 10 30; do
	t=$((m * 60))
	[ "$t" -lt "$secs" ] || continue
	while [ $(($(date +%s) - start)) -lt $((t - 5)) ]; do sleep 1; done
	at[$m]=$(rss_kb)
	printf 'minute %2d: RSS %6.1f MB\n' "$m" "$(echo "${at[$m]} / 1024" | bc -l)"
done
# The last sample, just before the end (the report is built after).
while [ $(($(date +%s) - start)) -lt $((secs - 7)) ]; do sleep 1; done
last=$(rss_kb)
printf 'at %ss: RSS %6.1f MB\n' "$((secs - 2))" "$(echo "$last / 1024" | bc -l)"
wait "$run_pid" || true
run_pid=
ref=${at[5]:-${at[1]:-$last}}
printf 'growth from minute %s to the end: %+.2f MB\n' "$([ -n "${at[5]:-}" ] && echo 5 || echo 1)" "$(echo "($last - $ref) / 1024" | bc -l)"
python3 - "$work/result.json" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
g = d.get("generator") or {}
n = t["messages_attempted"]
rows = d["intervals"]
folded = sum(1 for r in rows if r.get("length_s"))
print(f"messages {n}, ok {t['messages_ok']}, {t['messages_per_s']:.0f}/s, message p99 {d['phases']['message']['p99_ms']:.2f} ms")
print(f"CPU {g.get('cpu_s', 0):.1f} s, {1e6 * g.get('cpu_s', 0) / max(n, 1):.1f} µs per message")
print(f"JSON {os.path.getsize(sys.argv[1]) / 1e6:.3f} MB: {len(rows)} timeline rows ({folded} folded minutes, {len(rows) - folded} seconds)")
PY
