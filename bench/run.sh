#!/bin/sh
# Benchmarks rassh on this machine (make bench; BENCHMARKS.md records a run):
#   1. the wall time of "rassh HOST true" in epoch, fresh and off mode and of
#      stock "ssh HOST true", against one real sshd on 127.0.0.1 (bench/harness);
#   2. the CPU cost of one verification (go test -bench: client/, verifier/token/,
#      and the agent's side in enroll/rasshd/).
# Runs as root, because sshd and the agent's HostKeyAgent socket require it.
#
# Environment:
#   RUNS=N         timed runs per variant (default 30, at least 20)
#   WARMUP=N       untimed warm-up rounds (default 3)
#   BENCHTIME=D    go test -benchtime (default 1s)
#   QUICKACK=1     also run the harness in a network namespace of its own
#                  whose loopback route has quickack 1 (no delayed ACKs), to
#                  show how much of each time is TCP delayed-ACK stalls
set -eu

cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "bench/run.sh: run as root (sshd and the HostKeyAgent socket require it)" >&2
	exit 2
fi
for b in bin/rassh bin/rassh-agent; do
	if [ ! -x "$b" ]; then
		echo "bench/run.sh: $b is missing; run make build" >&2
		exit 2
	fi
done

work=$(mktemp -d)
netns=""
cleanup() {
	if [ -n "$netns" ]; then ip netns del "$netns" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "## Machine"
echo
echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores online"
echo "- kernel: $(uname -sr)"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- $(/usr/bin/ssh -V 2>&1), $(go version | cut -d' ' -f3), golang.org/x/crypto $(go list -m -f '{{.Version}}' golang.org/x/crypto)"
echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo

go build -o "$work/harness" ./bench/harness

echo "## Wall time"
echo
"$work/harness" -bin bin -runs "${RUNS:-30}" -warmup "${WARMUP:-3}"
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

if [ "${QUICKACK:-0}" = 1 ]; then
	netns="rassh-bench-$$"
	ip netns add "$netns"
	ip -n "$netns" link set lo up
	for dst in 127.0.0.0/8 127.0.0.1; do
		ip -n "$netns" route replace local "$dst" dev lo table local proto kernel scope host src 127.0.0.1 quickack 1
	done
	echo "## Wall time without delayed ACKs (network namespace, loopback route quickack 1)"
	echo
	ip netns exec "$netns" "$work/harness" -bin bin -runs "${RUNS:-30}" -warmup "${WARMUP:-3}"
	echo
fi

echo "## CPU cost of one verification"
echo
# client/: the ra-ssh checks after the token (epoch, fresh), and a whole epoch
# verification with the real token verifier. verifier/token/: one ES256 token
# of the CA's token service. enroll/rasshd/: the agent's epoch response.
go test -run '^$' -bench '^BenchmarkVerify' -benchtime "${BENCHTIME:-1s}" -count 1 ./client/
go test -run '^$' -bench '^BenchmarkVerifyRasshES256$' -benchtime "${BENCHTIME:-1s}" -count 1 ./verifier/token/
go test -run '^$' -bench '^BenchmarkEpochAnswer$' -benchtime "${BENCHTIME:-1s}" -count 1 ./enroll/rasshd/
