#!/usr/bin/env bash
# What delivery tracking costs smtpbench, and how fast its receiver is.
#
# 1. Tracking overhead. A relay (smtpbench sink --relay-to, its own process,
#    no hold) forwards every message it accepts to a next hop. Alternately,
#    ROUNDS times each, with 50 sessions and N messages:
#      off: the next hop is a plain sink in its own process;
#           smtpbench run -c 50 -n N RELAY
#      on:  the next hop is smtpbench's own receiver;
#           smtpbench run -c 50 -n N --receive ADDR RELAY
#    and prints, per mode, the median of smtpbench's CPU (user+system, from
#    its JSON report) per accepted message, and their ratio. "on" includes
#    the receiver's own work: parsing every relayed message.
# 2. Receiver throughput. smtpbench run -c 50 -n M --receive ADDR ADDR: the
#    load goes straight into the receiver (pipelined), every message is one
#    arrival; prints delivered_per_s.
#
# Usage: bench/delivery.sh [ROUNDS] [N] [M]   (defaults 3, 20000, 300000; needs
# python3)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rounds=${1:-3}
n=${2:-20000}
m=${3:-300000}
need "" python3

pids=()
with_work pids


go build -o "$work/smtpbench" ./cmd/smtpbench
sb="$work/smtpbench"

hop=$(free_port)      # the plain next hop, for "off"
relay_off=$(free_port) # relays to it
rcv=$(free_port)      # smtpbench's receiver, for "on"
relay_on=$(free_port) # relays to the receiver
"$sb" sink --no-tls --listen "127.0.0.1:$hop" >"$work/hop.log" 2>&1 &
pids+=($!)
"$sb" sink --no-tls --listen "127.0.0.1:$relay_off" --relay-to "127.0.0.1:$hop" >"$work/relay-off.log" 2>&1 &
pids+=($!)
"$sb" sink --no-tls --listen "127.0.0.1:$relay_on" --relay-to "127.0.0.1:$rcv" >"$work/relay-on.log" 2>&1 &
pids+=($!)
for p in "$hop" "$relay_off" "$relay_on"; do wait_port "$p" || exit 1; done

cpu_per_msg() { # JSON report on stdin -> microseconds of smtpbench CPU per accepted message
	python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.2f %.0f" % (1e6*j["generator"]["cpu_s"]/max(j["totals"]["messages_ok"],1), j["totals"]["messages_per_s"]))'
}
: >"$work/off" ; : >"$work/on"
for r in $(seq "$rounds"); do
	"$sb" run -c 50 -n "$n" -o json "127.0.0.1:$relay_off" 2>/dev/null | cpu_per_msg >>"$work/off"
	"$sb" run -c 50 -n "$n" -o json --receive "127.0.0.1:$rcv" --drain 60s "127.0.0.1:$relay_on" 2>/dev/null | cpu_per_msg >>"$work/on"
	echo "round $r: off $(tail -1 "$work/off")  on $(tail -1 "$work/on")  (us CPU/message, messages/s)"
done
python3 - "$work/off" "$work/on" <<'EOF'
import statistics, sys
off = statistics.median(float(l.split()[0]) for l in open(sys.argv[1]))
on = statistics.median(float(l.split()[0]) for l in open(sys.argv[2]))
print(f"median smtpbench CPU per message: off {off:.2f} us, on {on:.2f} us, tracking +{100*(on/off-1):.1f}%")
EOF

direct=$(free_port)
"$sb" run -c 50 -n "$m" -o json --receive "127.0.0.1:$direct" "127.0.0.1:$direct" 2>/dev/null |
	python3 -c 'import json,sys; j=json.load(sys.stdin); d=j["delivery"]; print("receiver: %d arrivals, %.0f arrivals/s, lost %d, smtpbench CPU %.0f%% of %d cores" % (d["delivered"], d["delivered_per_s"], d["lost"], j["generator"]["cpu_percent"], j["generator"]["cores"]))'
