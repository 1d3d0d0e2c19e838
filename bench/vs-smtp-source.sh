#!/usr/bin/env bash
# Compare smtpbench with Postfix's smtp-source against the same smtp-sink.
#
# For each scenario it runs A (smtpbench) and B (smtp-source) alternately,
# A B A B ..., ROUNDS times each, records wall and CPU time (user+sys) of
# every run with /usr/bin/time, and prints per scenario the median
# messages/s of each, the median of the per-round ratios A/B of messages/s,
# and the median ratio of CPU seconds per message. Alternating in one run is
# what makes the ratios meaningful on a noisy shared machine.
#
# Usage: bench/vs-smtp-source.sh [ROUNDS]   (default 3; needs Debian's postfix)
# SMTPBENCH_FLAGS adds flags to every smtpbench run (A). With B_SMTPBENCH_FLAGS
# set, B is smtpbench with those flags instead of smtp-source, which times
# one setting against another, e.g. the cost of lock-step samples:
#   B_SMTPBENCH_FLAGS="--lockstep-every 0" bench/vs-smtp-source.sh 7
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rounds=${1:-3}
PATH="$PATH:/usr/sbin"
need "Debian: apt-get install postfix time" smtp-sink smtp-source /usr/bin/time

sink_pid=
with_work sink_pid

go build -o "$work/smtpbench" ./cmd/smtpbench

port=$(free_port)
user_flag=()
[ "$(id -u)" = 0 ] && user_flag=(-u nobody)
smtp-sink "${user_flag[@]}" "127.0.0.1:$port" 1000 &
sink_pid=$!
wait_port "$port"

# run LABEL CMD...: prints "wall cpu" for one run of CMD.
run() {
	local out="$work/time.$1"
	shift
	/usr/bin/time -f '%e %U %S' -o "$out" "$@" >/dev/null 2>"$work/stderr" ||
		{ echo "failed: $*" >&2; cat "$work/stderr" >&2; exit 1; }
	awk '{printf "%s %.3f\n", $1, $2 + $3}' "$out"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

scenario() {
	local name=$1 sessions=$2 messages=$3
	local a_rates=() b_rates=() rate_ratios=() cpu_ratios=()
	for r in $(seq "$rounds"); do
		read -r aw ac < <(run a "$work/smtpbench" run ${SMTPBENCH_FLAGS:-} -c "$sessions" -n "$messages" --size 1000 "127.0.0.1:$port")
		if [ -n "${B_SMTPBENCH_FLAGS:-}" ]; then
			read -r bw bc < <(run b "$work/smtpbench" run $B_SMTPBENCH_FLAGS -c "$sessions" -n "$messages" --size 1000 "127.0.0.1:$port")
		else
			read -r bw bc < <(run b smtp-source -s "$sessions" -m "$messages" -l 1000 -d "127.0.0.1:$port")
		fi
		a_rates+=("$(awk -v n="$messages" -v w="$aw" 'BEGIN{print n/w}')")
		b_rates+=("$(awk -v n="$messages" -v w="$bw" 'BEGIN{print n/w}')")
		rate_ratios+=("$(awk -v a="$aw" -v b="$bw" 'BEGIN{print b/a}')")
		cpu_ratios+=("$(awk -v a="$ac" -v b="$bc" 'BEGIN{print a/b}')")
		printf '  round %d: smtpbench %.2fs wall %.2fs cpu | %s %.2fs wall %.2fs cpu\n' "$r" "$aw" "$ac" "$b_name" "$bw" "$bc" >&2
	done
	printf '%-32s %12.0f %12.0f %10.2f %12.2f\n' "$name" \
		"$(printf '%s\n' "${a_rates[@]}" | median)" "$(printf '%s\n' "${b_rates[@]}" | median)" \
		"$(printf '%s\n' "${rate_ratios[@]}" | median)" "$(printf '%s\n' "${cpu_ratios[@]}" | median)" >>"$work/table"
}

b_name=smtp-source
b_desc="smtp-source -s S -m N -l 1000 -d"
if [ -n "${B_SMTPBENCH_FLAGS:-}" ]; then
	b_name="smtpbench $B_SMTPBENCH_FLAGS"
	b_desc="smtpbench run $B_SMTPBENCH_FLAGS -c S -n N --size 1000"
fi
echo "smtp-sink on 127.0.0.1:$port; $rounds rounds per scenario, alternating smtpbench ${SMTPBENCH_FLAGS:-}(A) and $b_name (B)" >&2
: >"$work/table"
scenario "50 sessions, 100000 x 1000 B" 50 100000
scenario "1 session, 20000 x 1000 B" 1 20000

echo
printf '%-32s %12s %12s %10s %12s\n' scenario "A msg/s" "B msg/s" "A/B rate" "A/B cpu/msg"
cat "$work/table"
echo
echo "A = smtpbench run ${SMTPBENCH_FLAGS:-}-c S -n N --size 1000; B = $b_desc; medians over $rounds rounds."
echo "CPU is user+sys of the client process; the goals are A/B rate >= 1.8 (50 sessions), >= 4.0 (1 session), A/B cpu/msg <= 0.5."
