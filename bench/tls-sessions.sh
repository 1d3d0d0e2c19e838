#!/usr/bin/env bash
# What TLS and AUTH cost per session, on both sides.
#
# Starts the built-in sink in its own process (STARTTLS with an ECDSA P-256
# certificate, AUTH against a user file) and runs smtpbench against it with
# a new connection per message (--per-conn 1), so every message is a whole
# session: connect, greeting, EHLO, [STARTTLS, EHLO, [AUTH]], one message,
# QUIT. The scenarios run interleaved, round by round, so that a noisy
# machine disturbs them alike:
#
#   plaintext          --tls none
#   starttls-full      --tls starttls --tls-resume=false   (a full handshake each time)
#   starttls-resumed   --tls starttls                      (resumed from the session cache)
#   starttls+auth      --tls starttls --auth plain         (resumed, and AUTH PLAIN)
#   tls1.2-full        the same two with --tls-max 1.2: TLS 1.2 resumption
#   tls1.2-resumed     skips the key exchange, which TLS 1.3's does not
#
# For each run it takes sessions/s from the report (connections / elapsed_s),
# the generator's CPU from the report (cpu_s: smtpbench's own user+system
# time) and the sink's CPU from /proc/PID/stat before and after, and prints
# per scenario the medians of sessions/s and of CPU microseconds per session
# for the generator and for the sink, and what TLS adds over plaintext.
#
# Usage: bench/tls-sessions.sh [ROUNDS] [SESSIONS]   (defaults 5 and 2000;
# needs Linux /proc, openssl and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rounds=${1:-5}
sessions=${2:-2000}
conc=4
need "" openssl python3
[ -r /proc/self/stat ] || { echo "needs /proc (Linux)" >&2; exit 1; }

sink_pid=
with_work sink_pid

go build -o "$work/smtpbench" ./cmd/smtpbench
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
echo "bench:bench-password" >"$work/users"
printf 'bench-password\n' >"$work/password"
chmod 600 "$work/password"

port=$(free_port)
"$work/smtpbench" sink --listen "127.0.0.1:$port" --cert "$work/cert.pem" --key "$work/key.pem" \
	--users "$work/users" >"$work/sink.out" 2>&1 &
sink_pid=$!
wait_port "$port"
ticks=$(getconf CLK_TCK)

# sink_cpu prints the sink's user+system CPU seconds so far.
sink_cpu() { awk -v hz="$ticks" '{print ($14 + $15) / hz}' "/proc/$sink_pid/stat"; }

# run NAME FLAGS...: one run; appends "rate gen_us sink_us" to $work/NAME.
run() {
	local name=$1
	shift
	local before after
	before=$(sink_cpu)
	"$work/smtpbench" run -o json -c "$conc" -n "$sessions" --per-conn 1 --size 1000 --timeout 10s \
		"$@" "127.0.0.1:$port" >"$work/report.json" 2>"$work/stderr" ||
		{ echo "failed: $name $*" >&2; cat "$work/stderr" >&2; exit 1; }
	after=$(sink_cpu)
	python3 - "$work/report.json" "$before" "$after" >>"$work/$name" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
n = t["connections"]
assert t["messages_ok"] == n, "not every message was accepted"
tls = r.get("tls") or {}
print("%.1f %.1f %.1f %d %d" % (n / r["elapsed_s"], t["cpu_s"] * 1e6 / n,
      (float(sys.argv[3]) - float(sys.argv[2])) * 1e6 / n,
      tls.get("handshakes_full", 0), tls.get("handshakes_resumed", 0)))
EOF
}

tlsflags=(--tls starttls --ca "$work/cert.pem")
echo "sink (own process) on 127.0.0.1:$port; $rounds rounds of $sessions sessions per scenario, -c $conc --per-conn 1" >&2
for r in $(seq "$rounds"); do
	run plaintext
	run starttls-full "${tlsflags[@]}" --tls-resume=false
	run starttls-resumed "${tlsflags[@]}"
	run starttls+auth "${tlsflags[@]}" --auth plain --user bench --password-file "$work/password"
	run tls1.2-full "${tlsflags[@]}" --tls-max 1.2 --tls-resume=false
	run tls1.2-resumed "${tlsflags[@]}" --tls-max 1.2
	echo "  round $r done" >&2
done

python3 - "$work" <<'EOF'
import statistics, sys
work = sys.argv[1]
names = ["plaintext", "starttls-full", "starttls-resumed", "starttls+auth", "tls1.2-full", "tls1.2-resumed"]
med = {}
print()
print("%-18s %11s %13s %13s %13s %17s" % ("scenario", "sessions/s", "gen us/sess", "sink us/sess", "total us/sess", "handshakes f/r"))
for n in names:
    rows = [list(map(float, l.split())) for l in open(f"{work}/{n}")]
    m = [statistics.median(c) for c in zip(*rows)]
    med[n] = m
    print("%-18s %11.0f %13.0f %13.0f %13.0f %8d/%-8d" % (n, m[0], m[1], m[2], m[1] + m[2], rows[-1][3], rows[-1][4]))
p = med["plaintext"]
print()
for label, full, res in (("TLS 1.3", "starttls-full", "starttls-resumed"), ("TLS 1.2", "tls1.2-full", "tls1.2-resumed")):
    f, r = med[full], med[res]
    print("%s over plaintext, CPU us per session: full handshake generator %.0f, sink %.0f; resumed generator %.0f, sink %.0f"
          % (label, f[1] - p[1], f[2] - p[2], r[1] - p[1], r[2] - p[2]))
    print("%s resumed / full, whole session CPU: generator %.2f, sink %.2f, both %.2f; TLS part only: generator %.2f, sink %.2f"
          % (label, r[1] / f[1], r[2] / f[2], (r[1] + r[2]) / (f[1] + f[2]), (r[1] - p[1]) / (f[1] - p[1]), (r[2] - p[2]) / (f[2] - p[2])))
a = med["starttls+auth"]
print("AUTH PLAIN adds generator %.0f, sink %.0f us per session (over TLS 1.3 resumed)" % (a[1] - med["starttls-resumed"][1], a[2] - med["starttls-resumed"][2]))
print("medians; generator CPU is smtpbench's cpu_s, sink CPU from /proc; goal: resumed at most half the CPU of full.")
EOF
