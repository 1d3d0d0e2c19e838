# Shared by the bench scripts: source it after cd to the repository's top.

# free_port prints a loopback TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT waits up to 5 s for something to listen on 127.0.0.1:PORT.
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1 after 5 s" >&2
	return 1
}

# need HINT TOOL...: stops the script when a tool is missing, with HINT
# (where to get it) when not empty.
need() {
	local hint=$1
	shift
	for tool; do
		command -v "$tool" >/dev/null || { echo "missing $tool${hint:+ ($hint)}" >&2; exit 1; }
	done
}

# with_work VAR...: sets work to a new temporary directory and, when the
# script exits, ends the processes whose PIDs the named variables (or
# arrays) hold, the ones the script started, and removes the directory.
with_work() {
	work=$(mktemp -d)
	_cleanup_vars=("$@")
	trap _cleanup EXIT
}

_cleanup() {
	local v p
	for v in "${_cleanup_vars[@]}"; do
		local -n _pids=$v
		for p in "${_pids[@]}"; do
			[ -n "$p" ] && kill "$p" 2>/dev/null
		done
	done
	rm -rf "$work"
	return 0
}
