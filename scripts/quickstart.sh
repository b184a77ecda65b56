#!/usr/bin/env bash
# netfence quickstart: the whole flow on one machine, no Docker and no Kafka install needed.
#
#   scripts/quickstart.sh [--skip-build] [--classpath CP]
#
# --skip-build uses the existing target/netfence.jar and target/test-classes; --classpath gives
# the test classpath (the broker artifact) instead of asking Maven for it. QuickstartScriptIT
# uses both so it builds nothing inside `mvn verify`.
#
# Builds netfence, starts a single-node KRaft broker from Kafka's own broker artifact (Maven
# Central), stores a policy, starts `netfence run`, starts a sandbox process in its own network
# namespace with a peer namespace to talk to, publishes a container.started event, and shows
# the outcome, the rules inside the namespace and one allowed and one blocked connection. Then it
# cleans up everything it started (by pid, namespaces by name), also on failure or Ctrl-C.
# Without root it says so and runs netfence with --dry-run, showing the rules it would apply.
# Addresses used: 198.18.0.0/15 and 2001:db8::/32 (reserved for testing/documentation), only
# inside the namespaces it creates.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

skip_build=false
classpath=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-build) skip_build=true; shift ;;
    --classpath) classpath="${2:?--classpath needs a value}"; shift 2 ;;
    -h|--help) nf_help "$0"; exit 0 ;;
    *) echo "quickstart.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

root="$nf_root"
cd "$root"
work="$(mktemp -d /tmp/netfence-quickstart.XXXXXX)"
id="qs$$"
cns="nf-${id}-c"   # the "container"
pns="nf-${id}-p"   # its peer
node="quickstart-${id}"
task="task-demo"
container="demo-${id}"
pids=()
netns_made=0

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }

cleanup() {
  local rc=$?
  step "Cleaning up"
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    local p="${pids[$i]}"
    if kill -0 "$p" 2>/dev/null; then
      nf_stop_pid "$p" 10
      info "stopped pid $p"
    fi
  done
  if [[ $netns_made == 1 ]]; then
    ip netns del "$cns" 2>/dev/null || true
    ip netns del "$pns" 2>/dev/null || true
    info "deleted namespaces $cns $pns"
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# C1 only, as scripts/netfence starts it (NETFENCE_JAVA_OPTS after it: -XX:TieredStopAtLevel=4 restores C2)
netfence() { java -XX:TieredStopAtLevel=1 -Xshare:auto ${NETFENCE_JAVA_OPTS:-} -jar "$root/target/netfence.jar" "$@"; }

dry_run=false
if [[ $(id -u) != 0 ]]; then
  dry_run=true
  step "Not running as root: netfence cannot enter namespaces, so this run uses --dry-run"
  info "It shows the rules it would apply. Run as root (sudo $0) for the real thing."
else
  for tool in ip nsenter iptables-restore ip6tables-restore; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y iptables iproute2" >&2; exit 3; }
  done
fi

if [[ $skip_build == true ]]; then
  [[ -f target/netfence.jar && -d target/test-classes ]] \
    || { echo "target/netfence.jar or target/test-classes missing: run without --skip-build" >&2; exit 2; }
else
  step "Building netfence and the test kit (mvn package, tests skipped)"
  nf_build
  info "built target/netfence.jar"
fi
if [[ -n $classpath ]]; then
  printf '%s' "$classpath" >"$work/cp.txt"
else
  nf_classpath "$work/cp.txt"
fi

step "Starting a single-node KRaft broker (org.apache.kafka:kafka_2.13 from Maven Central)"
NF_BROKER_JAVA_OPTS="${NF_BROKER_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}" \
  nf_start_broker "$(cat "$work/cp.txt")" "$work/kafka" "$work/broker.out" "$work/broker.log"
pids+=("$nf_broker_pid")
bootstrap="$(nf_await_broker "$work/broker.out" "$nf_broker_pid" 60)" \
  || { cat "$work/broker.log" >&2; echo "broker failed to start" >&2; exit 3; }
export KAFKA_BOOTSTRAP_SERVERS="$bootstrap"
info "broker at $bootstrap"

peer_v4=198.18.77.2; peer_v6=2001:db8:77::2
if [[ $dry_run == false ]]; then
  step "Creating a sandbox namespace ($cns) and a peer ($pns) joined by a veth pair"
  ip netns add "$cns"; ip netns add "$pns"; netns_made=1
  nf_veth "$cns" "v${id}c" "$pns" "v${id}p" 198.18.77.1 "$peer_v4" 2001:db8:77::1 "$peer_v6" 24 64
  ip netns exec "$pns" java -XX:TieredStopAtLevel=1 "$root/scripts/lib/Listen.java" 8443 8444 >"$work/listen.out" 2>&1 &
  pids+=($!)
  ip netns exec "$cns" sleep infinity &
  sandbox_pid=$!
  pids+=($sandbox_pid)
  listening=false
  for _ in $(seq 1 60); do grep -q listening "$work/listen.out" && { listening=true; break; }; sleep 0.5; done
  [[ $listening == true ]] || { cat "$work/listen.out" >&2; echo "the peer's listener did not start" >&2; exit 3; }
  # both ports answer before any rule, so what reads "blocked" below is the policy's doing
  for port in 8443 8444; do
    ip netns exec "$cns" timeout 3 bash -c "exec 3<>/dev/tcp/$peer_v4/$port" 2>/dev/null \
      || { echo "the peer's port $port does not answer before any rule" >&2; exit 3; }
  done
  info "sandbox process pid $sandbox_pid; peer listens on $peer_v4 and [$peer_v6], ports 8443 and 8444"
fi

step "Storing the task's policy on sandbox.policies (allow only port 8443 on the peer)"
cat >"$work/policy.json" <<EOF
{"schemaVersion": 1, "mode": "bridge",
 "allowedEndpoints": ["$peer_v4:8443", "[$peer_v6]:8443"],
 "dns": false, "outbound": false, "inbound": false}
EOF
cat "$work/policy.json" | sed 's/^/    /'
netfence policy put "$task" "$work/policy.json"

step "Starting netfence run (node $node)"
run_flags=(run --node-id "$node" --http-port 0 --cgroup-check false)
[[ $dry_run == true ]] && run_flags+=(--dry-run)
info "netfence ${run_flags[*]}"
info "(--cgroup-check false: the demo's sandbox is a plain process, not in a container's cgroup)"
# java directly, not the netfence() function: a backgrounded function runs in a subshell, and
# $! would be the subshell's pid rather than the JVM's, so cleanup would miss the JVM.
java -XX:TieredStopAtLevel=1 -Xshare:auto ${NETFENCE_JAVA_OPTS:-} -jar "$root/target/netfence.jar" "${run_flags[@]}" >"$work/netfence.log" 2>&1 &
pids+=($!)
http_port="$(nf_http_port "$work/netfence.log" "${pids[-1]}")" || { tail -20 "$work/netfence.log" >&2; exit 3; }
for _ in $(seq 1 120); do
  code="$(nf_ready_code "$http_port")"
  [[ $code == 200 ]] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/netfence.log" >&2; echo "netfence exited" >&2; exit 3; }
  sleep 0.5
done
[[ $code == 200 ]] || { tail -20 "$work/netfence.log" >&2; echo "netfence never became ready" >&2; exit 3; }
info "ready (http://127.0.0.1:$http_port/readyz)"

step "Publishing a container.started event"
publish_flags=(publish --task "$task" --container "$container" --node "$node")
[[ $dry_run == false ]] && publish_flags+=(--pid "$sandbox_pid")
info "netfence ${publish_flags[*]}"
published_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
netfence "${publish_flags[@]}"

step "The outcome on sandbox.policy-outcomes"
netfence outcomes --follow --since "$published_at" --container "$container" --count 1 --wait 60s --json >"$work/outcome.json" || true
sed 's/^/    /' "$work/outcome.json"
grep -q '"status":"applied"' "$work/outcome.json" || { echo "expected an applied outcome" >&2; tail -30 "$work/netfence.log" >&2; exit 3; }

if [[ $dry_run == true ]]; then
  step "The rules netfence would apply (netfence plan)"
  netfence plan --policy "$work/policy.json" | sed 's/^/    /'
  step "Done (dry run). As root, this script also applies the rules and tests two connections."
  exit 0
fi

if command -v nft >/dev/null && ip netns exec "$cns" nft list table inet netfence >/dev/null 2>&1; then
  step "The rules now inside the sandbox namespace (backend nft: nft list table inet netfence)"
  ip netns exec "$cns" nft list table inet netfence | sed 's/^/    /'
else
  step "The rules now inside the sandbox namespace (iptables-save / ip6tables-save, netfence chains)"
  for save in iptables-save ip6tables-save; do
    info "# $save"
    ip netns exec "$cns" "$save" -t filter | grep -E '^(:NETFENCE|-A (OUTPUT|INPUT|FORWARD) -j NETFENCE|-A NETFENCE)' | sed 's/^/    /'
  done
fi

step "Connections from the sandbox"
connect() {
  if ip netns exec "$cns" timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then echo allowed; else echo blocked; fi
}
allowed_v4=$(connect "$peer_v4" 8443); blocked_v4=$(connect "$peer_v4" 8444)
allowed_v6=$(connect "$peer_v6" 8443); blocked_v6=$(connect "$peer_v6" 8444)
info "$peer_v4:8443    -> $allowed_v4   (allowed by the policy)"
info "$peer_v4:8444    -> $blocked_v4   (not in the policy)"
info "[$peer_v6]:8443 -> $allowed_v6"
info "[$peer_v6]:8444 -> $blocked_v6"
if [[ $allowed_v4 == allowed && $allowed_v6 == allowed && $blocked_v4 == blocked && $blocked_v6 == blocked ]]; then
  step "Done: the policy is in force for IPv4 and IPv6"
else
  echo "unexpected connection results" >&2
  exit 3
fi
