# Shared helpers of scripts/quickstart.sh, scripts/chaos.sh and scripts/bench.sh. Source it after
# `set -euo pipefail`; it defines functions only (and `nf_root`, the repository root).
#
#   nf_help SCRIPT               print SCRIPT's header comment block (its --help)
#   nf_http_port LOG PID [S]     the port `netfence run --http-port 0` bound, read from its LOG
#                                (waits up to S seconds, default 120; fails if PID exits first)
#   nf_stop_pid PID [GRACE]      SIGTERM, SIGKILL after GRACE seconds (default 10), reap; only PID
#   nf_build [--if-stale]        mvn package (jar + test classes), tests skipped
#   nf_classpath FILE            the test class path (the broker kit's artifacts) into FILE
#   nf_start_broker CP DIR OUT LOG
#                                start the embedded KRaft broker (data in DIR) in the background,
#                                stdout to OUT, stderr appended to LOG; sets nf_broker_pid
#   nf_await_broker OUT PID [S]  wait up to S seconds (default 120) for it; prints bootstrap.servers
#   nf_http_get PORT PATH        the raw HTTP answer of 127.0.0.1:PORT (empty when nothing listens)
#   nf_ready_code PORT           the status code of /readyz
#   nf_veth NS_A IF_A NS_B IF_B V4_A V4_B V6_A V6_B PREFIX4 PREFIX6
#                                a veth pair between two namespaces, addressed and up
#   nf_host_rules                the host's rulesets (every *tables-save the host has, nft list ruleset;
#                                netavark's rules and netfence's host table left out), comment lines
#                                dropped and counters zeroed, for a before/after comparison
#
# shellcheck shell=bash

nf_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

nf_help() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"
}

nf_http_port() {
  # A port picked beforehand can be taken before the JVM binds it (an outgoing connection's
  # ephemeral port, a listener on another address), so the kernel picks it: --http-port 0.
  local log="$1" pid="$2" secs="${3:-120}" p
  for _ in $(seq 1 $((secs * 5))); do
    p="$(sed -n 's/.*metrics and health on port \([0-9][0-9]*\) .*/\1/p' "$log" 2>/dev/null | tail -1)"
    [[ -n $p ]] && { echo "$p"; return 0; }
    kill -0 "$pid" 2>/dev/null || { echo "netfence (pid $pid) exited before serving HTTP; see $log" >&2; return 1; }
    sleep 0.2
  done
  echo "netfence (pid $pid) did not report its HTTP port within ${secs}s; see $log" >&2
  return 1
}

nf_stop_pid() {
  local p="$1" grace="${2:-10}"
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 5))); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true
}

nf_build() {
  if [[ ${1:-} == --if-stale && -f "$nf_root/target/netfence.jar" && -d "$nf_root/target/test-classes" \
        && -z "$(cd "$nf_root" && find src pom.xml -newer target/netfence.jar -print -quit)" ]]; then
    echo "target/netfence.jar is newer than every source file: not rebuilding" >&2
    return 0
  fi
  (cd "$nf_root" && mvn -B -q -DskipTests package)
}

nf_classpath() {
  (cd "$nf_root" &&
    { mvn -B -q -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$1" >/dev/null 2>&1 \
      || mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$1" >/dev/null; })
}

nf_start_broker() {
  local cp="$1" dir="$2" out="$3" log="$4"
  : >"$out"
  java ${NF_BROKER_JAVA_OPTS:-} -cp "$nf_root/target/test-classes:$cp" dev.netfence.kafka.testkit.KraftBroker "$dir" \
    >"$out" 2>>"$log" &
  nf_broker_pid=$!
}

nf_await_broker() {
  local out="$1" pid="$2" seconds="${3:-120}" at
  for _ in $(seq 1 $((seconds * 5))); do
    at="$(sed -n 's/^bootstrap.servers=//p' "$out" 2>/dev/null)"
    if [[ -n $at ]]; then echo "$at"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "the broker exited" >&2; return 1; }
    sleep 0.2
  done
  echo "the broker did not start within $seconds s" >&2
  return 1
}

nf_http_get() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&3 && timeout 5 cat <&3) 2>/dev/null || true
}

nf_ready_code() {
  nf_http_get "$1" /readyz | head -1 | awk '{print $2}'
}

nf_veth() {
  local ns_a="$1" if_a="$2" ns_b="$3" if_b="$4" v4_a="$5" v4_b="$6" v6_a="$7" v6_b="$8" p4="$9" p6="${10}"
  ip link add "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b"
  ip -n "$ns_a" addr add "$v4_a/$p4" dev "$if_a"
  ip -n "$ns_b" addr add "$v4_b/$p4" dev "$if_b"
  ip -n "$ns_a" addr add "$v6_a/$p6" dev "$if_a" nodad
  ip -n "$ns_b" addr add "$v6_b/$p6" dev "$if_b" nodad
  ip -n "$ns_a" link set lo up; ip -n "$ns_b" link set lo up
  ip -n "$ns_a" link set "$if_a" up; ip -n "$ns_b" link set "$if_b" up
}

nf_host_rules() {
  # Comparable like testkit/HostRulesetGuard: counters zeroed; podman's netavark rules (NETAVARK*
  # chains, the rules in and jumping to them, a table netavark left with only empty built-in
  # ACCEPT chains) and netfence's own host table (netdev netfence, the host guard) left out,
  # nothing else: an "inet netfence" table in the host namespace would be netfence's container
  # rules written into the wrong namespace, which this comparison must catch. The nft listing
  # skips the tables iptables-nft manages (compared through the save texts above).
  local t
  for t in iptables-save ip6tables-save iptables-nft-save ip6tables-nft-save iptables-legacy-save ip6tables-legacy-save; do
    command -v "$t" >/dev/null || continue
    echo "## $t"
    "$t" 2>&1 | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g' | awk '
      /^\*/ { n = 0; nv = 0; intable = 1 }
      /^(:NETAVARK[^ ]* |-A NETAVARK[^ ]* )/ || /^-[AI] [^ ]+ .*-[jg] NETAVARK[^ ]*( |$)/ { nv = 1; next }
      !intable { print; next }
      { buf[++n] = $0 }
      /^COMMIT$/ {
        empty = 1
        for (i = 2; i < n; i++) if (buf[i] !~ /^:[A-Z]+ ACCEPT \[0:0\]$/) empty = 0
        if (!(nv && empty)) for (i = 1; i <= n; i++) print buf[i]
        intable = 0
      }' || true
  done
  if command -v nft >/dev/null; then
    echo "## nft list ruleset"
    nft list ruleset 2>&1 | grep -v "^# Warning: table .* is managed by iptables-nft" | awk '
      /^table / {
        key = $2 " " $3
        skip = (key == "netdev netfence" || key == "inet netavark" \
          || (($2 == "ip" || $2 == "ip6") && $3 ~ /^(filter|nat|mangle|raw|security)$/))
      }
      !skip { gsub(/counter packets [0-9]+ bytes [0-9]+/, "counter packets 0 bytes 0"); print }
      /^}$/ { skip = 0 }' || true
  fi
}
