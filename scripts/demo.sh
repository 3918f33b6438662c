#!/usr/bin/env bash
# make demo: the whole rassh flow on this one machine.
#
# A rassh CA (local verifier) enrolls a simulated TD with a join token. A real
# sshd serves the certificate, with its host key held in the agent's memory,
# and the system ssh trusts it through one @cert-authority line. rassh checks
# ra-ssh per connection, and stock ssh gets the check through
# KnownHostsCommand. A stale attestation and a host without a certificate are
# refused.
#
# All state lives in one temporary folder, removed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/bin
HOST=demo.rassh.test

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail() { printf '\ndemo failed: %s\n' "$*" >&2; exit 1; }

# --- prerequisites -----------------------------------------------------------

need_openssh() {
	if command -v /usr/sbin/sshd >/dev/null && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null; then
		return
	fi
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		step "Installing Debian's openssh-server and openssh-client"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null
		return
	fi
	fail "sshd, ssh and ssh-keygen are needed; install them with: sudo apt-get install openssh-server openssh-client"
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	fail "no free TCP port found on 127.0.0.1"
}

# wait_for runs the command until it succeeds, for at most $1 seconds.
wait_for() {
	local seconds=$1
	shift
	for _ in $(seq 1 $((seconds * 10))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	return 1
}

need_openssh
if [ ! -x "$BIN/rassh-ca" ] || [ ! -x "$BIN/rassh-agent" ] || [ ! -x "$BIN/rassh" ]; then
	fail "binaries missing in $BIN: run 'make build' (make demo does it)"
fi

D=$(mktemp -d /tmp/rassh-demo.XXXXXX)
chmod 0755 "$D"
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$D"
	echo
	echo "Removed $D and stopped every process the demo started."
}
trap cleanup EXIT
trap 'exit 130' INT TERM

USER_NAME=$(id -un)
CA_PORT=$(free_port)
CA_URL=https://127.0.0.1:$CA_PORT
SSH_PORT=$(free_port)
while [ "$SSH_PORT" = "$CA_PORT" ]; do SSH_PORT=$(free_port); done
info "state folder: $D"

# --- the CA ------------------------------------------------------------------

step "Creating a simulated TD authority (development only: its quotes prove nothing)"
"$BIN/rassh-agent" sim-init --dir "$D/tdxsim" >"$D/sim-init.log"
info "simulation root: $D/tdxsim/root.pem ($(openssl x509 -in "$D/tdxsim/root.pem" -noout -subject 2>/dev/null || echo 'see file'))"

step "Initialising the CA with a demo policy"
cat >"$D/policy.yaml" <<'EOF'
# Demo policy. Intel collateral cannot cover simulated quotes, so this policy
# does not require collateral and accepts simulated TDs. Never use it in
# production: the default CA policy requires both collateral and real TDX.
require_collateral: false
allow_simulated: true
EOF
info "the demo policy does NOT require Intel collateral and accepts simulated TDs; the default policy does neither"
"$BIN/rassh-ca" init --dir "$D/ca" --host-patterns "$HOST" --listen "127.0.0.1:$CA_PORT" \
	--collateral none --policy "$D/policy.yaml" --simulation-roots "$D/tdxsim/root.pem" \
	--token-service-allow-simulated >"$D/ca-init.log" 2>&1 || { cat "$D/ca-init.log"; fail "rassh-ca init"; }
sed 's/^/    /' "$D/ca-init.log"
FP=$(openssl x509 -in "$D/ca/self-signed.crt" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1 || true)
if [ -z "$FP" ] || [ "$FP" = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" ]; then
	FP=$(grep -oE '[0-9a-f]{64}' "$D/ca-init.log" | head -n1)
fi
[ -n "$FP" ] || fail "could not find the CA's TLS certificate fingerprint"
info "CA TLS certificate SHA-256: $FP"

step "Starting the CA on $CA_URL"
"$BIN/rassh-ca" serve --config "$D/ca/config.yaml" >"$D/ca.log" 2>&1 &
PIDS+=($!)
ADMIN=(--ca "$CA_URL" --admin-token-file "$D/ca/admin-token" --ca-fingerprint "$FP")
wait_for 15 "$BIN/rassh-ca" admin known-hosts --ca "$CA_URL" --ca-fingerprint "$FP" ||
	{ cat "$D/ca.log"; fail "the CA did not start"; }
info "CA is up (log: $D/ca.log)"

step "Issuing a one-time join token for $HOST (admin API)"
"$BIN/rassh-ca" admin join-token create "${ADMIN[@]}" --principals "$HOST" --ttl 10m >"$D/join-token"
info "join token: $(cut -c1-12 "$D/join-token")... (stored in $D/join-token, 0600)"
chmod 0600 "$D/join-token"

# --- the host ----------------------------------------------------------------

step "Starting the host agent: in-memory host key, HostKeyAgent for sshd, ra-ssh server"
mkdir -p "$D/host" "$D/host/agent" "$D/host/ra-ssh"
chmod 0700 "$D/host/agent"
UID_LINE=""
if [ "$(id -u)" != 0 ]; then UID_LINE="  allowed_uid: $(id -u)"; fi
cat >"$D/agent.yaml" <<EOF
ca:
  url: $CA_URL
  tls_fingerprint: $FP
  ssh_ca_keys_file: $D/host/ssh-ca.pub
host:
  principals: [$HOST]
  join_token_file: $D/join-token
evidence:
  kind: simulated
  simulated:
    authority_dir: $D/tdxsim
    # The host identity the CA records: MRCONFIGID, set by the VM owner at launch.
    mrconfigid: "$(printf 'de%.0s' $(seq 1 48))"
reload:
  command: [sh, -c, 'test -f $D/host/sshd.pid && kill -HUP \$(cat $D/host/sshd.pid) || true']
ra_ssh:
  hostkey_agent_socket: $D/host/agent/hostkey.sock
  socket: $D/host/ra-ssh/ra-ssh.sock
  generate_host_keys: [ed25519]
  public_key_dir: $D/host
  modes: [epoch, fresh]
  epoch_period: 10m
  token_refresh: 2m
$UID_LINE
EOF
"$BIN/rassh-agent" run --config "$D/agent.yaml" >"$D/agent.log" 2>&1 &
PIDS+=($!)
wait_for 20 test -s "$D/host/ssh_host_ed25519_key-cert.pub" ||
	{ cat "$D/agent.log"; fail "the agent did not enroll"; }
info "enrolled; certificate written to $D/host/ssh_host_ed25519_key-cert.pub"
ssh-keygen -L -f "$D/host/ssh_host_ed25519_key-cert.pub" | sed 's/^/    /'

step "Starting a real sshd on 127.0.0.1:$SSH_PORT (HostKey is only the .pub file; the agent signs)"
ssh-keygen -q -t ed25519 -N '' -C demo-user -f "$D/user_key"
cp "$D/user_key.pub" "$D/authorized_keys"
mkdir -p /run/sshd 2>/dev/null || true
cat >"$D/host/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $D/host/ssh_host_ed25519_key.pub
HostKeyAgent $D/host/agent/hostkey.sock
HostCertificate $D/host/ssh_host_ed25519_key-cert.pub
PidFile $D/host/sshd.pid
AuthorizedKeysFile $D/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
Subsystem ra-ssh@rassh $BIN/rassh-agent respond --socket $D/host/ra-ssh/ra-ssh.sock
EOF
/usr/sbin/sshd -D -e -f "$D/host/sshd_config" >"$D/sshd.log" 2>&1 &
PIDS+=($!)
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT" || { cat "$D/sshd.log"; fail "sshd did not start"; }
info "sshd is up (log: $D/sshd.log)"

# --- stock ssh ---------------------------------------------------------------

step "Writing a known_hosts file with only the CA's @cert-authority line"
"$BIN/rassh-ca" admin known-hosts --ca "$CA_URL" --ca-fingerprint "$FP" >"$D/known_hosts"
sed 's/^/    /' "$D/known_hosts"

SSH=(ssh -F none -i "$D/user_key" -p "$SSH_PORT" -o IdentitiesOnly=yes -o BatchMode=yes
	-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$D/known_hosts" -o GlobalKnownHostsFile=/dev/null
	-o HostKeyAlias="$HOST" -o LogLevel=ERROR)
step "Running the system ssh with StrictHostKeyChecking=yes"
info "\$ ssh ... $USER_NAME@127.0.0.1 'echo hello from \$(hostname) as \$(id -un)'"
"${SSH[@]}" "$USER_NAME@127.0.0.1" 'echo hello from $(hostname) as $(id -un)' | sed 's/^/    /' ||
	fail "ssh did not accept the attested host"

# --- rassh: per-connection attestation ---------------------------------------

step "Connecting with rassh: host certificate plus a live ra-ssh check before the session"
cat >"$D/rassh.yaml" <<EOF
known_hosts: [$D/known_hosts]
mode: epoch
max_token_age: 10m
allow_simulated: true
cache_dir: $D/rassh-cache
# The agent's ra-ssh socket on the host, reached over a direct-streamlocal
# channel; the ra-ssh@rassh subsystem is the fallback.
agent_socket: $D/host/ra-ssh/ra-ssh.sock
identity_files: [$D/user_key]
issuers:
  - issuer: $CA_URL
    jwks_url: $CA_URL/v1/jwks
    kind: rassh
    host_patterns: ["$HOST"]
    tls_fingerprint: $FP
EOF
RASSH_OPTS=(-F "$D/rassh.yaml" -p "$SSH_PORT" -o host_key_alias="$HOST")
RASSH=("$BIN/rassh" "${RASSH_OPTS[@]}")
RASSH_VERIFY=("$BIN/rassh" verify "${RASSH_OPTS[@]}")
info "\$ rassh $USER_NAME@127.0.0.1 'echo attested session on \$(hostname)'"
"${RASSH[@]}" "$USER_NAME@127.0.0.1" 'echo attested session on $(hostname)' | sed 's/^/    /' ||
	fail "rassh refused the attested host"

step "rassh verify: the attestation report (epoch mode)"
"${RASSH_VERIFY[@]}" "$USER_NAME@127.0.0.1" | sed 's/^/    /' || fail "rassh verify rejected the host"

step "rassh verify in fresh mode: a new quote for this one connection"
"${RASSH_VERIFY[@]}" -o mode=fresh "$USER_NAME@127.0.0.1" | sed 's/^/    /' || fail "fresh mode rejected"

step "Stock ssh checked through KnownHostsCommand (host-key-bound, not session-bound)"
cat >"$D/ssh_config" <<EOF
Host $HOST
    HostName 127.0.0.1
    Port $SSH_PORT
    User $USER_NAME
    IdentityFile $D/user_key
    IdentitiesOnly yes
    BatchMode yes
    UserKnownHostsFile /dev/null
    GlobalKnownHostsFile /dev/null
    KnownHostsCommand $BIN/rassh known-hosts-command -F $D/rassh.yaml -o host_key_alias=$HOST -l %r %H %t %K
    StrictHostKeyChecking yes
    UpdateHostKeys no
    LogLevel ERROR
EOF
info "\$ ssh -F ssh_config $HOST 'echo checked by KnownHostsCommand'"
ssh -F "$D/ssh_config" "$HOST" 'echo checked by KnownHostsCommand' | sed 's/^/    /' ||
	fail "ssh with KnownHostsCommand did not connect"

step "A stale attestation is refused: max_token_age=1s against a token issued earlier"
sleep 2
set +e
"${RASSH_VERIFY[@]}" -o max_token_age=1s "$USER_NAME@127.0.0.1" >"$D/stale.out" 2>&1
status=$?
set -e
sed 's/^/    /' "$D/stale.out"
[ "$status" = 1 ] || fail "rassh verify accepted a stale token (exit $status)"
info "rassh verify exited $status: refused"

# --- no certificate, no trust ------------------------------------------------

step "Removing the host certificate: ssh must now refuse the same host"
# The agent stays up: sshd still needs it to sign key exchanges, and it would
# renew only at two thirds of the certificate's lifetime.
rm -f "$D/host/ssh_host_ed25519_key-cert.pub"
kill -HUP "$(cat "$D/host/sshd.pid")"
sleep 1
set +e
"${SSH[@]}" "$USER_NAME@127.0.0.1" true >"$D/refused.out" 2>&1
status=$?
set -e
sed 's/^/    /' "$D/refused.out"
[ "$status" != 0 ] || fail "ssh accepted a host without a certificate"
info "ssh exited $status: refused"

step "Done: enrolled, attested per connection, and refused without a certificate"
