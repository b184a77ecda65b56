#!/usr/bin/env bash
# What the connection-tracking flush at the end of every apply costs (issue 12 item 2), measured
# directly: N runs of `nsenter --net=NS -- conntrack -F` (what netfence runs) against N runs of
# `nsenter --net=NS -- iptables-nft-save -t filter` (one of the four processes an apply already
# starts, for scale), in a throw-away namespace with a conntrack rule loaded and a few tracked
# flows. Prints the median and 90th percentile wall time and the CPU (user+sys of the children)
# per run of each, and of a baseline (`nsenter ... true` with the same setup and measuring). Needs root, iproute2, nsenter, conntrack, iptables-nft; leaves nothing behind.
# Usage: scripts/conntrack-flush-cost.sh [N=200]
set -euo pipefail
n="${1:-200}"
ns="nfcost-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
for b in iptables-nft ip6tables-nft; do
  ip netns exec "$ns" "$b" -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
done

cpu_ms() { # user+sys of this shell's waited-for children, in ms (/proc/$$/stat cutime + cstime, in ticks)
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.0f", ($14 + $15) * 1000 / hz }' "/proc/$$/stat"
}

measure() { # label argv...
  local label="$1"; shift
  local walls=() start end c0 c1
  c0="$(cpu_ms)"
  for i in $(seq "$n"); do
    # every 10th run, a few tracked UDP flows, so the flush has entries to delete
    if (( i % 10 == 1 )); then
      ip netns exec "$ns" bash -c 'for p in 1 2 3; do echo x >/dev/udp/127.0.0.1/$((9000 + p)); done' 2>/dev/null || true
    fi
    start="$(date +%s%N)"
    "$@" >/dev/null 2>&1
    end="$(date +%s%N)"
    walls+=("$(( (end - start) / 1000 ))")
  done
  c1="$(cpu_ms)"
  printf '%s\n' "${walls[@]}" | sort -n | awk -v n="$n" -v label="$label" '
    { w[NR] = $1 } END { printf "%-44s wall median %6.2f ms  p90 %6.2f ms\n", label, w[int(n / 2) + 1] / 1000, w[int(n * 0.9)] / 1000 }'
  echo "$label: CPU (user+sys) of all children incl. the flow setup: $(( (c1 - c0) * 1000 / n )) us per run"
}

# the baseline: the flow setup, the measuring and an nsenter that runs nothing; subtract it from
# the figures below to get what the program itself costs beyond entering the namespace
measure "flow setup only (true)" nsenter --net="/run/netns/$ns" -- true
measure "conntrack -F" nsenter --net="/run/netns/$ns" -- conntrack -F
measure "iptables-nft-save -t filter (read-back)" nsenter --net="/run/netns/$ns" -- iptables-nft-save -t filter
