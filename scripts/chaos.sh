#!/usr/bin/env bash
# netfence chaos run: proves the delivery guarantees (docs/guarantees.md) against a real broker,
# real network namespaces and real SIGKILLs.
#
#   sudo scripts/chaos.sh [--mode both|at-least-once|exactly-once] [--exactly-once]
#                         [--sandboxes N] [--events M] [--kills K] [--seed S] [--timeout SECS]
#                         [--skip-build] [--classpath CP] [--keep-logs DIR]
#
# For each mode (default: both, one after the other) it creates N sandbox network namespaces
# (each with a `sleep infinity` "container" process and a veth pair to one shared peer
# namespace; addresses only in 198.18.0.0/15 and 2001:db8::/32), starts `netfence run` for node
# chaos-<mode> with --policy-dir (three tasks with three different policies) and
# --cgroup-check false (the sandboxes are plain processes, not containers), and publishes M
# container.started events with known eventIds in waves: per sandbox M/N events whose task
# changes from one event to the next, so the rules that end up in force depend on which event
# was processed last. While the events are being processed it SIGKILLs netfence K times, at a
# random point (after a random number of outcomes of that run, read from its /metrics), and
# restarts it, publishing more events while nothing runs; then it stops netfence with SIGTERM
# under load (it must drain once and exit 0; the exit code and seconds are in the table) and
# restarts it; then it bounces the broker once (SIGTERM, start again with the same data dir and
# port) under the running service. Then the send
# faults: the DLQ topic's max.message.bytes is set to 200 while a non-JSON record arrives (a
# terminal send error: its dead letter must be held with /readyz saying so, and go through once
# the limit is restored), and a 1,048,300-byte non-JSON record is published (its dead letter
# exceeds the DLQ topic's limit and must go without its value, also in exactly-once mode). It waits
# (bounded by --timeout) until every event has an outcome and the consumer group has committed
# the whole events topic, stops netfence with SIGTERM, and checks:
#
#   events published
#   outcomes committed              `netfence outcomes --json` (read_committed), split into those
#                                   of published events (by eventId), the reconciler's (eventId
#                                   null: trigger drift, policy-update or re-resolve; counted by
#                                   trigger/status, never taken for an event's) and those naming
#                                   an eventId nobody published (must be 0)
#   events with >= 1 outcome        per published eventId
#   events with exactly 1 outcome   the same, exactly-once mode only (n/a at-least-once, where
#                                   duplicates after a crash are allowed)
#   events with 2+ outcomes         must be 0 in exactly-once mode; each one is named
#   events lost                     published eventIds without any committed outcome: must be 0
#   held while the DLQ refused it   /readyz named a held output during the terminal send error
#   dead letters of the 2 poison    committed DLQ records: both poison records present (exactly
#     records                       one each with --exactly-once), the oversized one without value
#   host ruleset changed            host iptables-save / ip6tables-save (nft and legacy), comment
#                                   lines dropped and counters zeroed, before vs. after: must be no
#   namespaces with wrong rules     must be 0, see below
#
# Final rules check: the expected rules of each policy come from `netfence plan --backend iptables --policy FILE`,
# which prints exactly the lines iptables-save shows for netfence's chains; the actual rules are
# `ip netns exec NS iptables-nft-save` and `iptables-legacy-save` (both, so rules landing in the
# wrong backend or in both count as wrong), filter table only, counters dropped. A namespace is
# right when, per family, the hook rules are exactly `-A INPUT -j NETFENCE-IN`,
# `-A FORWARD -j NETFENCE-FWD` and `-A OUTPUT -j NETFENCE-OUT`, and the NETFENCE-OUT/-IN/-FWD rules equal,
# line by line and in order, the plan of the task of the LAST event published for that sandbox.
# The policies allow different endpoints, so every rule carries the policy's digest comment
# (netfence:<12 hex>) and a sandbox left with an older event's policy, a quarantine, or no rules
# differs. The policies avoid DNS (dns:false), so the expected rules do not depend on any
# resolver configuration. The check runs only after the group committed everything and
# netfence exited, so no re-processing can change the rules under it.
#
# It exits 0 only when every check holds in every mode (1 when one fails, 2 on usage errors, 3
# when the run itself breaks), and cleans up everything it started (processes by pid,
# namespaces by name, its temp dir), also on failure or Ctrl-C. Needs root, ip, nsenter,
# iptables/ip6tables(-restore/-save), Java 17 and Maven (for the build and the broker kit, an
# embedded KRaft broker from Kafka's own artifact, see src/test/java/.../testkit/KraftBroker).
# --skip-build uses the existing target/netfence.jar and target/test-classes; --classpath gives
# the test classpath instead of asking Maven. Defaults (both modes) took 27.5 minutes on 2 cores
# shared with other builds (load 10-30); the broker bounce alone can take over a minute there.
# --keep-logs DIR also keeps the broker's own log (kafka-broker.log).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

root="$nf_root"
cd "$root"

usage() { echo "chaos.sh: $1 (see --help)" >&2; exit 2; }

mode=both sandboxes=8 events=240 kills=3 seed="" timeout=180 skip_build=false classpath="${NETFENCE_CHAOS_CLASSPATH:-}" keep_logs=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) mode="${2:?}"; shift 2 ;;
    --exactly-once) mode=exactly-once; shift ;;
    --sandboxes) sandboxes="${2:?}"; shift 2 ;;
    --events) events="${2:?}"; shift 2 ;;
    --kills) kills="${2:?}"; shift 2 ;;
    --seed) seed="${2:?}"; shift 2 ;;
    --timeout) timeout="${2:?}"; shift 2 ;;
    --skip-build) skip_build=true; shift ;;
    --classpath) classpath="${2:?}"; shift 2 ;;
    --keep-logs) keep_logs="${2:?}"; shift 2 ;;
    -h|--help) nf_help "$0"; exit 0 ;;
    *) usage "unknown option $1" ;;
  esac
done
case "$mode" in
  both) modes=(at-least-once exactly-once) ;;
  at-least-once|exactly-once) modes=("$mode") ;;
  *) echo "chaos.sh: --mode must be both, at-least-once or exactly-once" >&2; exit 2 ;;
esac
for n in "$sandboxes" "$events" "$kills" "$timeout"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "chaos.sh: $n is not a number" >&2; exit 2; }
done
((sandboxes >= 1 && sandboxes <= 200)) || { echo "chaos.sh: --sandboxes must be 1..200" >&2; exit 2; }
((events >= 2 * sandboxes)) || { echo "chaos.sh: --events must be at least 2 per sandbox ($((2 * sandboxes)))" >&2; exit 2; }
[[ -z $seed ]] && seed=$(( $(date +%s) % 100000 ))
[[ $seed =~ ^[0-9]+$ ]] || { echo "chaos.sh: --seed must be a number" >&2; exit 2; }
RANDOM=$seed

step() { printf '\n\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
info() { printf '    %s\n' "$*"; }
die() { echo "chaos.sh: $*" >&2; exit 3; }

[[ $(id -u) == 0 ]] || { echo "chaos.sh needs root (network namespaces, iptables): sudo $0" >&2; exit 3; }
for tool in ip nsenter iptables-restore ip6tables-restore java; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install -y iptables iproute2; Java 17)"
done

work="$(mktemp -d /tmp/netfence-chaos.XXXXXX)"
id="x$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))"   # unique namespace/interface prefix
pids=()          # everything still running that this script started, in start order
namespaces=()    # namespaces this script created
broker_pid="" run_pid=""

forget() { local p="$1" i; for i in "${!pids[@]}"; do [[ ${pids[$i]} == "$p" ]] && unset 'pids[i]'; done; pids=("${pids[@]}"); }

stop_pid() {   # stop_pid PID GRACE_SECONDS: SIGTERM, then SIGKILL after the grace period
  nf_stop_pid "$1" "$2"
  forget "$1"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  step "Cleaning up"
  if [[ $rc != 0 && $rc != 1 ]]; then
    for f in "$work"/*.log "$work"/kafka/broker.log; do
      [[ -f $f ]] || continue
      echo "--- last lines of $(basename "$f") ---" >&2; tail -15 "$f" >&2
    done
  fi
  if [[ -n $keep_logs ]]; then
    mkdir -p "$keep_logs" && cp "$work"/*.log "$keep_logs"/ 2>/dev/null && info "logs copied to $keep_logs"
    [[ -f $work/kafka/broker.log ]] && cp "$work/kafka/broker.log" "$keep_logs/kafka-broker.log"
  fi
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    local p="${pids[$i]}"
    # the broker launcher gets time to stop its broker child cleanly
    if [[ $p == "$broker_pid" ]]; then stop_pid "$p" 45; else stop_pid "$p" 10; fi
    info "stopped pid $p"
  done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ((${#namespaces[@]} > 0)) && info "deleted ${#namespaces[@]} namespaces (${id}-*)"
  rm -rf "$work"
  info "removed $work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

outcomes_of_run() {   # outcomes this netfence process published, from its /metrics
  nf_http_get "$1" /metrics | awk '/^netfence_outcomes_total/ {s += $NF} END {printf "%d", s}'
}

jar="$root/target/netfence.jar"
# JVM options for every JVM this script starts (short-lived CLIs mostly: quick start-up matters)
read -r -a jvm <<<"${NETFENCE_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}"
nf() { java "${jvm[@]}" -jar "$jar" "$@"; }

if [[ $skip_build == false ]]; then
  step "Building netfence and the test kit (mvn package, tests skipped)"
  nf_build
fi
[[ -f $jar && -d target/test-classes ]] || die "target/netfence.jar or target/test-classes missing (run without --skip-build)"
if [[ -z $classpath ]]; then
  nf_classpath "$work/cp.txt"
  classpath="$(cat "$work/cp.txt")"
fi
kit=(java "${jvm[@]}" -cp "$root/target/test-classes:$classpath")

step "Chaos run: modes ${modes[*]}; $sandboxes sandboxes, $events events and $kills SIGKILLs per mode; seed $seed"
info "reproduce the random choices with --seed $seed"

step "Recording the host's rulesets (every *tables-save on this host)"
nf_host_rules >"$work/host-before.rules"
info "$(grep -c '^-A' "$work/host-before.rules" || true) host rules recorded"

step "Starting a single-node KRaft broker (org.apache.kafka:kafka_2.13, data in $work/kafka)"
launch_broker() {   # starts the broker launcher in the background (a child of this shell)
  NF_BROKER_JAVA_OPTS="${jvm[*]}" nf_start_broker "$classpath" "$work/kafka" "$work/broker.out" "$work/broker.log"
  broker_pid=$nf_broker_pid
  pids+=("$broker_pid")
}
await_broker() {   # waits for the launcher's bootstrap.servers line; sets broker_at
  broker_at="$(nf_await_broker "$work/broker.out" "$broker_pid" 200)" || die "see broker.log and kafka/broker.log"
}
launch_broker

# Three tasks, three policies: different endpoints and directions, no DNS (see the header).
policies="$work/policies"
mkdir -p "$policies"
tasks=(chaos-web chaos-db chaos-batch)
cat >"$policies/chaos-web.json" <<'EOF'
{"schemaVersion": 1, "mode": "bridge",
 "allowedEndpoints": ["198.18.250.10:443", "[2001:db8:250::10]:443"],
 "dns": false, "outbound": false, "inbound": false}
EOF
cat >"$policies/chaos-db.json" <<'EOF'
{"schemaVersion": 1, "mode": "bridge",
 "allowedEndpoints": ["198.18.251.20:5432", "[2001:db8:251::20]:5432", "198.18.251.21:5353/udp"],
 "dns": false, "outbound": false, "inbound": true}
EOF
cat >"$policies/chaos-batch.json" <<'EOF'
{"schemaVersion": 1, "mode": "bridge",
 "blockedSubnets": ["198.18.252.0/24", "2001:db8:252::/48", "10.0.0.0/8"],
 "dns": false, "outbound": true, "inbound": false}
EOF
step "Planning the three policies (netfence plan): the expected rules"
# canonical form of a filter table: its rules grouped by chain, in chain order, counters dropped
canonical() {
  awk '/^\*/ {t = $1} /^COMMIT/ {t = ""} t == "*filter" && /^-A / {print}' |
    sed -E 's/^\[[0-9]+:[0-9]+\] //' >"$work/canon.tmp"
  local chain
  for chain in INPUT FORWARD OUTPUT NETFENCE-OUT NETFENCE-IN NETFENCE-FWD; do grep -E "^-A $chain " "$work/canon.tmp" || true; done
  grep -vE '^-A (INPUT|FORWARD|OUTPUT|NETFENCE-OUT|NETFENCE-IN|NETFENCE-FWD) ' "$work/canon.tmp" || true
}
plan_pids=()
for task in "${tasks[@]}"; do   # three JVMs at once, while the broker starts
  nf plan --backend iptables --policy "$policies/$task.json" >"$work/plan-$task.txt" 2>"$work/plan-$task.log" &
  plan_pids+=($!)
done
for p in "${plan_pids[@]}"; do wait "$p" || die "netfence plan failed: $(cat "$work"/plan-*.log)"; done
for task in "${tasks[@]}"; do
  for fam in ipv4 ipv6; do
    { printf '*filter\n-A INPUT -j NETFENCE-IN\n-A FORWARD -j NETFENCE-FWD\n-A OUTPUT -j NETFENCE-OUT\n'
      awk -v f="# $fam" '/^# ipv/ {on = ($0 == f)} on && /^-A NETFENCE-/ {print}' "$work/plan-$task.txt"
      printf 'COMMIT\n'; } | canonical >"$work/expect-$task-$fam.rules"
  done
  digest="$(grep -om1 'netfence:[0-9a-f]\{12\}' "$work/plan-$task.txt")"
  info "$task: $(wc -l <"$work/expect-$task-ipv4.rules") IPv4 and $(wc -l <"$work/expect-$task-ipv6.rules") IPv6 rules, $digest"
done

await_broker
bootstrap="$broker_at"
export KAFKA_BOOTSTRAP_SERVERS="$bootstrap"
info "broker pid $broker_pid at $bootstrap"

cat >"$work/netfence.properties" <<'EOF'
kafka.session.timeout.ms=6000
kafka.heartbeat.interval.ms=500
kafka.metadata.max.age.ms=2000
EOF

# ---------------------------------------------------------------------------------------------
declare -A result

run_mode() {
  local m="$1" short; short="${m:0:1}"   # a | e
  local node="chaos-$m" events_topic="chaos.$m.container-events" outcomes_topic="chaos.$m.policy-outcomes"
  local peer="${id}-${short}-peer" run=0 i k

  step "[$m] Creating $sandboxes sandbox namespaces and their peer ($peer)"
  ip netns add "$peer"; namespaces+=("$peer"); ip -n "$peer" link set lo up
  local ns_of=() pid_of=() cid_of=()
  for ((i = 0; i < sandboxes; i++)); do
    local ns="${id}-${short}-s$i" vc="v${id}${short}${i}c" vp="v${id}${short}${i}p"
    ip netns add "$ns"; namespaces+=("$ns")
    nf_veth "$ns" "$vc" "$peer" "$vp" "198.18.$i.1" "198.18.$i.2" "2001:db8:$i::1" "2001:db8:$i::2" 24 64
    ip netns exec "$ns" sleep infinity &
    pids+=($!)
    ns_of[i]="$ns"; pid_of[i]=$!; cid_of[i]="chaos-$m-$id-s$i"
  done
  info "sandboxes ${ns_of[0]} .. ${ns_of[sandboxes-1]}, container pids ${pid_of[*]}"

  # The event plan: per sandbox `per` events, round-robin over sandboxes, task changing each time.
  local per=$((events / sandboxes)) total=$((events / sandboxes * sandboxes))
  local waves=$((kills + 3)) last_task=() lines=()
  for ((k = 0; k < per; k++)); do
    for ((i = 0; i < sandboxes; i++)); do
      local t=$((RANDOM % 3))
      [[ -n ${last_task[i]:-} && $t == "${last_task[i]}" ]] && t=$(((t + 1 + RANDOM % 2) % 3))
      last_task[i]=$t
      lines+=("$i ${tasks[t]} $m-$id-s$i-e$k")
    done
  done
  printf '%s\n' "${lines[@]}" | awk '{print $3}' >"$work/$m-published.ids"
  : >"$work/$m-sent.ids"
  local next=0
  publish_wave() {   # publish_wave N: the next N planned events
    local n="$1" now line s t e
    ((next + n > total)) && n=$((total - next))
    ((n > 0)) || return 0
    now="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
    for line in "${lines[@]:next:n}"; do
      read -r s t e <<<"$line"
      printf '%s\t{"schemaVersion":1,"type":"container.started","eventId":"%s","occurredAt":"%s","nodeId":"%s","taskId":"%s","containerId":"%s","pid":%s}\n' \
        "$node" "$e" "$now" "$node" "$t" "${cid_of[s]}" "${pid_of[s]}"
      echo "$e" >>"$work/$m-sent.ids"
    done >"$work/wave.tsv"
    "${kit[@]}" dev.netfence.kafka.testkit.ScriptKafka publish "$bootstrap" "$events_topic" <"$work/wave.tsv" >/dev/null \
      || die "publishing events failed"
    info "published events $((next + 1))..$((next + n)) of $total to $events_topic"
    next=$((next + n))
  }
  local wave=$(((total + waves - 1) / waves))

  local http_port
  start_run() {
    run=$((run + 1))
    local flags=(run --node-id "$node" --events-topic "$events_topic" --outcomes-topic "$outcomes_topic"
      --policy-dir "$policies" --cgroup-check false --http-port 0 --config "$work/netfence.properties"
      --concurrency 4 --shutdown-timeout 20s --backend iptables-nft --hook-socket off)
    # no OCI hook here: the default /run/netfence/hook.sock belongs to whatever else runs on the host
    # the final rules check below reads iptables-save; the nft backend is proven by the kernel tests
    [[ $m == exactly-once ]] && flags+=(--exactly-once)
    java "${jvm[@]}" -jar "$jar" "${flags[@]}" >"$work/$m-run$run.log" 2>&1 &
    run_pid=$!
    pids+=("$run_pid")
    http_port="$(nf_http_port "$work/$m-run$run.log" "$run_pid")" || die "netfence run $run exited; see $m-run$run.log"
    local code=""
    for _ in $(seq 1 240); do
      code="$(nf_ready_code "$http_port")"
      [[ $code == 200 ]] && break
      kill -0 "$run_pid" 2>/dev/null || die "netfence run $run exited; see $m-run$run.log"
      sleep 0.5
    done
    [[ $code == 200 ]] || die "netfence run $run never became ready"
    info "netfence run $run: pid $run_pid ready (${flags[*]:0:3} ... $( [[ $m == exactly-once ]] && echo --exactly-once))"
  }
  await_outcomes() {   # await_outcomes N: until this run published N outcomes (or 60 s passed)
    local target="$1" n=0
    for _ in $(seq 1 600); do
      n="$(outcomes_of_run "$http_port")"
      ((n >= target)) && break
      kill -0 "$run_pid" 2>/dev/null || die "netfence run $run died by itself; see $m-run$run.log"
      sleep 0.1
    done
    echo "$n"
  }

  # The send faults of issue 11 (items 1 and 5), under the running service with events in flight:
  # a terminal send error (the DLQ topic refuses every dead letter: one is held, /readyz says so,
  # and it goes through once the topic is fixed) and an oversized record (its dead letter is too
  # large for the DLQ topic and goes without its value; in exactly-once mode the transaction that
  # carried it must not abort forever). Both poison records must end in the DLQ, committed.
  local dlq_topic="$events_topic.dlq" oversized_at=""
  send_faults() {
    step "[$m] Fault: a terminal send error (the DLQ topic $dlq_topic refuses every dead letter)"
    "${kit[@]}" dev.netfence.kafka.testkit.ScriptKafka topic-config "$bootstrap" "$dlq_topic" max.message.bytes 200 \
      >/dev/null || die "cannot change $dlq_topic"
    publish_wave "$wave"
    printf '%s\t%s\n' "$node" "chaos poison $m: not json" >"$work/poison.tsv"
    "${kit[@]}" dev.netfence.kafka.testkit.ScriptKafka publish "$bootstrap" "$events_topic" <"$work/poison.tsv" >/dev/null \
      || die "publishing the poison record failed"
    publish_wave "$wave"
    local why="" code=""
    for _ in $(seq 1 120); do why="$(nf_http_get "$http_port" /readyz | tail -1)"; [[ $why == *held* ]] && break; sleep 0.5; done
    info "/readyz while the dead letter is refused: ${why:-no answer}"
    if [[ $why == *held* ]]; then result[$m,held]=yes; else result[$m,held]=no; fi
    "${kit[@]}" dev.netfence.kafka.testkit.ScriptKafka topic-config "$bootstrap" "$dlq_topic" max.message.bytes 1048588 \
      >/dev/null || die "cannot change $dlq_topic back"
    for _ in $(seq 1 180); do code="$(nf_ready_code "$http_port")"; [[ $code == 200 ]] && break; sleep 0.5; done
    [[ $code == 200 ]] || die "netfence did not become ready again after $dlq_topic was fixed"
    info "$dlq_topic fixed: the held dead letter went through, ready again"
    step "[$m] Fault: an oversized record (1,048,300 bytes, not JSON; its dead letter exceeds the DLQ topic's limit)"
    oversized_at="$("${kit[@]}" dev.netfence.kafka.testkit.ScriptKafka oversized "$bootstrap" "$events_topic" "$node" 1048300)" \
      || die "publishing the oversized record failed"
    oversized_at="${oversized_at#offset=}"
    info "published at $oversized_at"
  }

  step "[$m] Starting netfence (node $node, policies from $policies)"
  start_run
  publish_wave "$wave"
  for ((k = 1; k <= kills; k++)); do
    local target=$((1 + RANDOM % wave)) n
    n="$(await_outcomes "$target")"
    step "[$m] SIGKILL $k of $kills: netfence run $run (pid $run_pid) after $n outcomes of this run (random point: $target)"
    kill -KILL "$run_pid"; wait "$run_pid" 2>/dev/null || true; forget "$run_pid"
    publish_wave "$wave"   # more work arrives while nothing runs
    start_run
  done

  # SIGTERM under load: one drain within --shutdown-timeout, exit 0; the checks below still need
  # every event's outcome (exactly one committed outcome in exactly-once mode)
  publish_wave "$wave"
  local target=$((1 + RANDOM % wave)) n t0 term_rc=0
  n="$(await_outcomes "$target")"
  step "[$m] SIGTERM under load: netfence run $run (pid $run_pid) after $n outcomes of this run"
  t0=$SECONDS
  kill -TERM "$run_pid"
  wait "$run_pid" || term_rc=$?
  forget "$run_pid"
  result[$m,term]="exit $term_rc after $((SECONDS - t0)) s"
  info "netfence run $run: ${result[$m,term]} (budget: 20 s drain + 11 s)"
  publish_wave "$wave"   # more work arrives while nothing runs
  start_run

  publish_wave "$wave"
  target=$((1 + RANDOM % wave))
  n="$(await_outcomes "$target")"
  step "[$m] Bouncing the broker (pid $broker_pid) under netfence run $run after $n outcomes of this run"
  stop_pid "$broker_pid" 45
  info "broker stopped"
  local code=""
  for _ in $(seq 1 60); do code="$(nf_ready_code "$http_port")"; [[ $code != 200 ]] && break; sleep 0.5; done
  info "netfence /readyz while the broker is down: ${code:-no answer}"
  launch_broker
  await_broker
  [[ $broker_at == "$bootstrap" ]] || die "the broker came back at '$broker_at', not $bootstrap"
  info "broker pid $broker_pid back at $bootstrap with the same data"
  for _ in $(seq 1 240); do code="$(nf_ready_code "$http_port")"; [[ $code == 200 ]] && break; sleep 0.5; done
  [[ $code == 200 ]] || die "netfence did not become ready again after the broker restart"
  info "netfence ready again without operator action"
  send_faults
  publish_wave "$total"   # the rest

  step "[$m] Waiting (at most ${timeout}s) for every event's outcome and the group's commits"
  local deadline=$((SECONDS + timeout)) have=0 lag="" drained=no
  while ((SECONDS < deadline)); do
    kill -0 "$run_pid" 2>/dev/null || die "netfence run $run died by itself; see $m-run$run.log"
    nf outcomes --json --outcomes-topic "$outcomes_topic" 2>"$work/outcomes.err" >"$work/$m-outcomes.json" || true
    have="$(outcome_ids "$work/$m-outcomes.json" | sort -u | grep -cxFf "$work/$m-published.ids" || true)"
    info "$have of $total events have an outcome"
    ((have >= total)) && break
    sleep 2
  done
  while ((SECONDS < deadline)); do
    lag="$("${kit[@]}" dev.netfence.kafka.testkit.ScriptKafka lag "$bootstrap" "netfence-$node" "$events_topic" || true)"
    if [[ $lag =~ ^committed=([0-9]+)\ end=([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]]; then
      drained=yes
      break
    fi
    info "group netfence-$node: ${lag:-unknown}"
    sleep 2
  done
  info "group netfence-$node: ${lag:-unknown}$( [[ $drained == no ]] && echo " -- NOT at the end of $events_topic after ${timeout}s")"

  step "[$m] Stopping netfence run $run (SIGTERM)"
  kill -TERM "$run_pid"
  local rc=0
  wait "$run_pid" || rc=$?
  forget "$run_pid"
  info "exit code $rc"
  nf outcomes --json --outcomes-topic "$outcomes_topic" 2>"$work/outcomes.err" >"$work/$m-outcomes.json" \
    || die "netfence outcomes failed: $(cat "$work/outcomes.err")"

  step "[$m] Checking outcomes and the rules in each sandbox"
  # Every committed outcome is one of three kinds: an outcome of a published event (its eventId;
  # per event exactly one in exactly-once mode), a reconciler outcome (eventId null: trigger drift,
  # policy-update or re-resolve, counted by trigger/status, never taken for an event's), or an
  # outcome naming an eventId nobody published (must not exist).
  outcome_fields "$work/$m-outcomes.json" >"$work/$m-fields"
  awk '$1 != "-" {print $1}' "$work/$m-fields" | sort | uniq -c | awk '{print $2, $1}' >"$work/$m-counts"
  local with_one with_exactly duplicated for_events foreign others lost statuses
  read -r with_one with_exactly duplicated for_events foreign < <(awk 'NR == FNR {pub[$1] = 1; next}
    $1 in pub {one++; sum += $2; if ($2 == 1) exactly++; else dup++; next}
    {foreign += $2}
    END {printf "%d %d %d %d %d\n", one, exactly, dup, sum, foreign}' "$work/$m-published.ids" "$work/$m-counts")
  lost=$((total - with_one))
  statuses="$(awk '{print $3}' "$work/$m-fields" | sort | uniq -c | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}')"
  others="$(awk '$1 == "-" {print $2 "/" $3}' "$work/$m-fields" | sort | uniq -c |
    awk '{n += $1; s = s (NR > 1 ? ", " : "") $1 " " $2} END {printf "%d%s", n, (n ? " (" s ")" : "")}')"
  if ((lost > 0)); then
    info "lost, e.g.: $(comm -23 <(sort "$work/$m-published.ids") <(awk '{print $1}' "$work/$m-counts" | sort) | head -5 | tr '\n' ' ')"
  fi
  if ((duplicated > 0)); then
    info "events with more than one committed outcome, e.g.: $(awk 'NR == FNR {pub[$1] = 1; next} $1 in pub && $2 > 1 {print $1 " x" $2}' \
      "$work/$m-published.ids" "$work/$m-counts" | head -5 | tr '\n' ' ')"
  fi
  if ((foreign > 0)); then
    info "outcomes naming an eventId that was never published, e.g.: $(awk 'NR == FNR {pub[$1] = 1; next} !($1 in pub) {print $1}' \
      "$work/$m-published.ids" "$work/$m-counts" | head -5 | tr '\n' ' ')"
  fi
  info "outcomes: $for_events of published events, $foreign naming other eventIds, reconciler (no eventId): $others"

  local wrong=0 wrong_list=""
  for ((i = 0; i < sandboxes; i++)); do
    local expect_task="${tasks[${last_task[i]}]}" ok=true fam save
    for fam in ipv4 ipv6; do
      local tools=()
      if [[ $fam == ipv4 ]]; then tools=(iptables-nft-save iptables-legacy-save); else tools=(ip6tables-nft-save ip6tables-legacy-save); fi
      { for save in "${tools[@]}"; do
          command -v "$save" >/dev/null && ip netns exec "${ns_of[i]}" "$save" 2>/dev/null || true
        done; } | canonical >"$work/actual.rules"
      if ! cmp -s "$work/actual.rules" "$work/expect-$expect_task-$fam.rules"; then
        ok=false
        diff "$work/expect-$expect_task-$fam.rules" "$work/actual.rules" | head -6 | sed "s/^/      ${ns_of[i]} $fam: /" || true
      fi
    done
    if [[ $ok == false ]]; then wrong=$((wrong + 1)); wrong_list+=" ${ns_of[i]}(expected $expect_task)"; fi
  done
  ((wrong > 0)) && info "sandboxes with wrong rules:$wrong_list"
  info "every sandbox checked against the policy of its last event ($sandboxes sandboxes)"

  "${kit[@]}" dev.netfence.kafka.testkit.ScriptKafka dead-letters "$bootstrap" "$dlq_topic" >"$work/$m-dlq.txt" \
    || die "reading $dlq_topic failed"
  local poison_small poison_big
  poison_small="$(awk -v at="$oversized_at" '$1 != at && $3 == "MALFORMED_EVENT" {n++} END {print n + 0}' "$work/$m-dlq.txt")"
  poison_big="$(awk -v at="$oversized_at" '$1 == at && $2 == "dropped:1048300" {n++} END {print n + 0}' "$work/$m-dlq.txt")"
  local dlq_lines; dlq_lines="$(wc -l <"$work/$m-dlq.txt")"
  info "dead letters: $dlq_lines ($(awk '{print $2}' "$work/$m-dlq.txt" | sort | uniq -c | awk '{printf "%s%s x %s", (NR > 1 ? ", " : ""), $1, $2}'))"
  result[$m,poison]="$dlq_lines (oversized w/o value: $poison_big)"

  result[$m,published]=$total
  result[$m,outcomes]="$(wc -l <"$work/$m-outcomes.json") ($statuses)"
  result[$m,for_events]=$for_events
  result[$m,others]=$others
  result[$m,foreign]=$foreign
  result[$m,one]=$with_one
  if [[ $m == exactly-once ]]; then
    result[$m,exactly]=$with_exactly; result[$m,dup]=$duplicated
  else
    result[$m,exactly]="n/a"; result[$m,dup]="$duplicated (allowed)"
  fi
  result[$m,lost]=$lost
  result[$m,wrong]=$wrong
  result[$m,kills]=$kills
  result[$m,drained]=$drained
  result[$m,exit]=$rc
  local ok=true
  ((lost == 0 && wrong == 0 && with_one == total)) || ok=false
  [[ ${result[$m,term]} == "exit 0 "* ]] || ok=false
  [[ $drained == yes ]] || ok=false
  ((foreign == 0)) || ok=false
  [[ $m == exactly-once ]] && ((with_exactly != total || duplicated != 0)) && ok=false
  [[ ${result[$m,held]} == yes ]] || ok=false
  # both poison records dead-lettered (exactly once each with --exactly-once), the oversized one without value
  ((poison_big >= 1 && poison_small >= 1)) || ok=false
  [[ $m == exactly-once ]] && { ((dlq_lines == 2 && poison_big == 1)) || ok=false; }
  result[$m,ok]=$ok

  step "[$m] Removing its sandboxes"
  for ((i = 0; i < sandboxes; i++)); do stop_pid "${pid_of[i]}" 5; done
  for ns in "${ns_of[@]}" "$peer"; do ip netns del "$ns"; done
  info "stopped ${#pid_of[@]} sandbox processes, deleted ${#ns_of[@]} sandbox namespaces and $peer"
  local keep=() n2
  for n2 in "${namespaces[@]}"; do [[ " ${ns_of[*]} $peer " == *" $n2 "* ]] || keep+=("$n2"); done
  namespaces=("${keep[@]}")
}

outcome_ids() {   # the eventId of each outcome JSON line
  awk 'match($0, /"eventId":"[^"]*"/) {print substr($0, RSTART + 11, RLENGTH - 12)}' "$1"
}

outcome_fields() {   # per outcome JSON line: its eventId (- when null), trigger and status
  awk '{ id = "-"; tr = "-"; st = "-"
    if (match($0, /"eventId":"[^"]*"/)) id = substr($0, RSTART + 11, RLENGTH - 12)
    if (match($0, /"trigger":"[^"]*"/)) tr = substr($0, RSTART + 11, RLENGTH - 12)
    if (match($0, /"status":"[^"]*"/)) st = substr($0, RSTART + 10, RLENGTH - 11)
    print id, tr, st }' "$1"
}

for m in "${modes[@]}"; do run_mode "$m"; done

step "Checking the host's rulesets"
nf_host_rules >"$work/host-after.rules"
host_changed=no
if ! cmp -s "$work/host-before.rules" "$work/host-after.rules"; then
  host_changed=yes
  diff "$work/host-before.rules" "$work/host-after.rules" | head -20 | sed 's/^/    /' || true
fi

step "Result (seed $seed)"
all_ok=true
[[ $host_changed == no ]] || all_ok=false
{
  printf '%-48s' "check"; for m in "${modes[@]}"; do printf '%-30s' "$m"; done; printf '\n'
  row() {   # row LABEL KEY
    printf '%-48s' "$1"; for m in "${modes[@]}"; do printf '%-30s' "${result[$m,$2]}"; done; printf '\n'
  }
  row "events published" published
  row "netfence SIGKILLs (then restarted)" kills
  row "SIGTERM under load (must exit 0)" term
  row "outcomes committed (by status)" outcomes
  row "  of published events (by eventId)" for_events
  row "  reconciler's, no eventId (trigger/status)" others
  row "  naming an unpublished eventId (must be 0)" foreign
  row "events with >= 1 outcome" one
  row "events with exactly 1 committed outcome" exactly
  row "events with 2+ committed outcomes (EOS: 0)" dup
  row "events lost (must be 0)" lost
  row "namespaces with wrong final rules (must be 0)" wrong
  row "events topic fully committed (must be yes)" drained
  row "held while the DLQ refused it (must be yes)" held
  row "dead letters of the 2 poison records" poison
  row "last run's exit code after SIGTERM" exit
  printf '%-48s%s\n' "host ruleset changed (must be no)" "$host_changed"
  printf '%-48s' "verdict"
  for m in "${modes[@]}"; do
    if [[ ${result[$m,ok]} == true && $host_changed == no ]]; then printf '%-30s' PASS; else printf '%-30s' FAIL; all_ok=false; fi
  done
  printf '\n'
} | tee "$work/table.txt" | sed 's/^/    /'
for m in "${modes[@]}"; do [[ ${result[$m,ok]} == true ]] || all_ok=false; done

if [[ $all_ok == true ]]; then
  step "PASS: no event lost, final rules right in every sandbox, host ruleset unchanged"
  exit 0
fi
step "FAIL: a delivery guarantee did not hold (see above)"
exit 1
