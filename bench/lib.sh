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
