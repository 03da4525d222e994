#!/usr/bin/env bash
# The real node of the kwok cluster: one node, NODE_NAME, whose pods a real kubelet runs with containerd and
# runc (and whose Services kube-proxy programs), next to kwok's simulated nodes.
#   scripts/node.sh up       start it (idempotent); scripts/cluster.sh up calls it once the control plane
#                            and CoreDNS answer
#   scripts/node.sh down     stop it and remove everything it made (scripts/cluster.sh down calls it)
#   scripts/node.sh status   print $STATE/real-node.env
#   scripts/node.sh address  print the node's address (cluster.sh makes it the API server's advertised one)
# Where the kernel or privileges do not allow it, `up` prints one line saying why and exits 0: the cluster
# works without the node. Either way $STATE/real-node.env says NODE_STATUS=up or down (with NODE_REASON),
# which the smoke tests of the node read.
#
# Everything runs as root in a network and a mount namespace of their own, held by one process
# (`_namespaces`, below); the daemons join them with nsenter. The host keeps its settings:
# - the kubelet sets six kernel tunables it wants (k8s.io/kubernetes pkg/kubelet/cm/container_manager_linux.go
#   setupKernelTunables) unless they already read right: files holding those values are bind-mounted over
#   the /proc/sys entries in the node's mount namespace, so it reads them and writes nothing;
# - /run, /var/lib and /var/log are fresh tmpfs mounts in that namespace (shim sockets, runc state, the
#   iptables lock, libcni's cache, the kubelet's /var/log/containers); the rest lives under $STATE/node;
# - kube-proxy's and the CNI plugins' iptables rules and the forwarding switch are the node's network
#   namespace's own; kube-proxy leaves conntrack sysctls alone (nf_conntrack_max is not writable here).
# What the host sees: one veth pair (no `dummy` link type on this kernel) whose host end has a /30 private
# address (derived from $STATE, so two clusters on one machine differ), the kubelet's cgroups under
# /<CGROUP_ROOT> in each cgroup v1 hierarchy, and the processes. `down` removes all three.
# The node reaches the API server (host loopback only) through scripts/node/forward.py, which listens on
# 127.0.0.1 inside the node's namespace, and its pods through the same forward on the node address, which the
# API server advertises as the `kubernetes` Service's endpoint (cluster.sh). Nothing listens on a host address:
# the kubelet and that forward serve on the node address, everything else on the node namespace's loopback.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

NAME=emqx-ee
NODE_NAME=$NAME-node-0
STATE=${EMQX_EE_STATE:-$ROOT/.work}
KCFG="$STATE/kubeconfig"
NODE="$STATE/node"
STATUS="$STATE/real-node.env"
# The daemons' logs and what `up` did: kept by `down` for a look at what failed (cluster.sh down removes $STATE).
LOGDIR="$STATE/real-node-logs"
UPLOG="$LOGDIR/up.log"
PKI="$STATE/kwok/clusters/$NAME/pki"
PY="$CACHE/venv/bin/python"
# Label and taint of the node (tests/smoke/test_real_node.py): only pods that tolerate the taint go there.
LABEL=emqx-ee/real-node
POD_CIDR=10.244.0.0/24
H=$(realpath -m "$STATE" | sha256sum | cut -c1-6)
HOST_LINK=eenode$H # 12 characters; link names take 15
CGROUP_ROOT=emqx-ee-node-$H
HOLDER=emqx-ee-node-namespaces-$H # the holder's argv[0], by which `down` knows it
# A /30 in 10.251.0.0/16 picked by the hash: host end .1, node .2.
BLOCK=$((16#$H % 16384))
HOST_IP=10.251.$((BLOCK / 64)).$((BLOCK % 64 * 4 + 1))
NODE_IP=10.251.$((BLOCK / 64)).$((BLOCK % 64 * 4 + 2))

status_line() { printf 'NODE_STATUS=%s\nNODE_NAME=%s\nNODE_IP=%s\nNODE_LABEL=%s\nNODE_REASON=%s\n' \
  "$1" "$NODE_NAME" "$NODE_IP" "$LABEL" "${2:-}" >"$STATUS"; }

# not_up REASON: the one line `up` prints when the node cannot run here; the cluster goes on without it.
not_up() {
  log "real node: not started: $1 (the kwok nodes work as before; tests that need the real node fail)"
  status_line down "$1"
}

# unsupported: why this machine cannot run the node (empty when it can).
unsupported() {
  local b
  [[ $(id -u) == 0 ]] || { echo "needs root for containerd and the kubelet (running as uid $(id -u))"; return; }
  for b in runc containerd ctr containerd-shim-runc-v2 kubelet kube-proxy coredns; do
    [[ -x $BIN/$b ]] || { echo "$b is not built (scripts/build-node-tools.sh)"; return; }
  done
  [[ -x $CNI_BIN/bridge ]] || { echo "the CNI plugins are not built (scripts/build-node-tools.sh)"; return; }
  command -v iptables >/dev/null || { echo "no iptables (Debian package iptables)"; return; }
  grep -qw overlay /proc/filesystems || { echo "the kernel has no overlayfs"; return; }
  [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/cpu && -d /sys/fs/cgroup/pids ]] ||
    { echo "no cgroup v1 memory/cpu/pids hierarchies under /sys/fs/cgroup"; return; }
  unshare --mount --net true 2>/dev/null || { echo "cannot make mount and network namespaces"; return; }
  unshare --net ip link add name probe0 type veth peer name probe1 2>/dev/null || { echo "cannot make veth links"; return; }
  unshare --net iptables -t nat -S >/dev/null 2>&1 || { echo "iptables does not work in a network namespace"; return; }
  [[ -r $PKI/ca.key ]] || { echo "no cluster CA key at $PKI (the kwok cluster is not up)"; return; }
  # A cluster created before cluster.sh configured kwok for the node: kwok would play its kubelet too.
  grep -q -- "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake" "$STATE/kwok/clusters/$NAME/kwok.yaml" ||
    { echo "the running kwok cluster manages every node (made before the real node): scripts/cluster.sh down, then up"; return; }
  # A cluster created before cluster.sh advertised the node's address: pods would not reach the API server.
  grep -q -- "--advertise-address=$NODE_IP\$" "$STATE/kwok/clusters/$NAME/kwok.yaml" ||
    { echo "the running kwok cluster does not advertise $NODE_IP (made before pods reached the API server): scripts/cluster.sh down, then up"; return; }
  local used # a route to the node's /30 through another link: that address range is taken here
  used=$(ip -4 route show to match "$NODE_IP" | grep -v "^default" | grep -v " dev $HOST_LINK " | head -n1)
  [[ -z $used ]] || { echo "the node's address range ${HOST_IP%.*}.x/30 is routed here already ($used)"; return; }
  true
}

pid_of() { cat "$NODE/$1.pid" 2>/dev/null; }
alive() { local p; p=$(pid_of "$1") && [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }
in_node() { nsenter --target "$(pid_of namespaces)" --mount --net -- "$@"; }

api_port() { sed -n 's#^ *server: https://127.0.0.1:\([0-9]*\).*#\1#p' "$KCFG" | head -n1; }

# cert NAME CN [O]: a client certificate signed by the kwok cluster's CA.
cert() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$NODE/pki/$1.key" -subj "/CN=$2${3:+/O=$3}" \
    -out "$NODE/pki/$1.csr" 2>/dev/null &&
    openssl x509 -req -in "$NODE/pki/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
      -CAserial "$NODE/pki/ca.srl" -CAcreateserial \
      -days 365 -out "$NODE/pki/$1.crt" 2>/dev/null
}

kubeconfig() { # kubeconfig NAME: a kubeconfig with NAME's client certificate
  cat <<YAML
apiVersion: v1
kind: Config
clusters:
- name: $NAME
  cluster: {server: "https://127.0.0.1:$(api_port)", certificate-authority: "$PKI/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$NODE/pki/$1.crt", client-key: "$NODE/pki/$1.key"}
contexts:
- name: $1
  context: {cluster: $NAME, user: $1}
current-context: $1
YAML
}

write_configs() {
  local pause # the sandbox image, built here (scripts/node-image.sh), never pulled
  pause=$("$ROOT/scripts/node-image.sh" ref pause) || return 1
  mkdir -p "$LOGDIR" "$NODE"/{pki,sysctl,cni/net.d,cni/ipam,containerd/root,containerd/state,kubelet,pods} &&
    cert kubelet "system:node:$NODE_NAME" system:nodes && cert kube-proxy system:kube-proxy || return 1
  kubeconfig kubelet >"$NODE/kubelet.kubeconfig"
  kubeconfig kube-proxy >"$NODE/kube-proxy.kubeconfig"
  cat >"$NODE/containerd.toml" <<TOML
version = 3
root = "$NODE/containerd/root"
state = "$NODE/containerd/state"
[grpc]
  address = "/run/containerd/containerd.sock"
[metrics]
  address = ""
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '$pause'
[plugins.'io.containerd.cri.v1.runtime']
  # CAP_SYS_RESOURCE is not in this machine's bounding set: runc may not lower oom_score_adj below the
  # shim's (sandboxes failed with "nsexec: failed to update /proc/self/oom_score_adj: Permission denied").
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = 'io.containerd.runc.v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = '$BIN/runc'
      SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['$CNI_BIN']
    conf_dir = '$NODE/cni/net.d'
[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = '127.0.0.1'
TOML
  cat >"$NODE/cni/net.d/10-node.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$NAME-node",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$NODE/cni/ipam", "ranges": [[{"subnet": "$POD_CIDR"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  echo "nameserver $NODE_IP" >"$NODE/resolv.conf"
  cat >"$NODE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
# This machine runs cgroup v1, which the kubelet refuses unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failSwapOn: false
clusterDomain: cluster.local
clusterDNS: [$NODE_IP]
resolvConf: $NODE/resolv.conf
podLogsDir: $NODE/pods
podCIDR: $POD_CIDR
maxPods: 30
registerNode: true
registerWithTaints:
- {key: $LABEL, value: "true", effect: NoSchedule}
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
  cat >"$NODE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$NODE/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
nodePortAddresses: [primary] # NodePorts on the node's address only, not on every local address
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# nf_conntrack_max and the conntrack timeouts are the host's: leave them as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  cat >"$NODE/Corefile" <<COREFILE
.:53 {
    bind $NODE_IP
    errors
    kubernetes cluster.local {
        kubeconfig $KCFG
    }
}
COREFILE
  # The values the kubelet wants (container_manager_linux.go setupKernelTunables, sysctl.go's constants).
  printf '1\n' >"$NODE/sysctl/vm.overcommit_memory"
  printf '0\n' >"$NODE/sysctl/vm.panic_on_oom"
  printf '10\n' >"$NODE/sysctl/kernel.panic"
  printf '1\n' >"$NODE/sysctl/kernel.panic_on_oops"
  printf '1000000\n' >"$NODE/sysctl/kernel.keys.root_maxkeys"
  printf '25000000\n' >"$NODE/sysctl/kernel.keys.root_maxbytes"
  # The host's own values, which must stay as they are (tests/smoke/test_real_node.py).
  local f
  for f in "$NODE"/sysctl/*; do
    echo "${f##*/}=$(cat "/proc/sys/$(basename "$f" | tr . /)")"
  done >"$NODE/host-sysctl"
}

# _namespaces (run by unshare in new mount and network namespaces): mounts the node's view of the host,
# brings up loopback, says it is ready, then holds the namespaces until killed.
namespaces_main() {
  local f
  for f in "$NODE"/sysctl/*; do
    mount --bind "$f" "/proc/sys/$(basename "$f" | tr . /)"
  done
  mount -t tmpfs -o mode=755 tmpfs /run
  mount -t tmpfs -o mode=755 tmpfs /var/lib
  mount -t tmpfs -o mode=755 tmpfs /var/log # the kubelet's /var/log/containers links (a fixed path)
  mkdir -p /run/containerd
  ip link set lo up
  echo 1 >/proc/sys/net/ipv4/ip_forward # the node's namespace's own switch
  echo $$ >"$NODE/namespaces.pid"
  exec -a "$HOLDER" sleep infinity
}

# start NAME COMMAND...: a daemon of the node, in its namespaces, logging to $LOGDIR/NAME.log.
start() {
  local name=$1; shift
  start_on_host "$name" nsenter --target "$(pid_of namespaces)" --mount --net -- "$@"
}
# start_on_host NAME COMMAND...: the same in the host's namespaces (the API server forward).
start_on_host() {
  local name=$1; shift
  setsid "$@" >"$LOGDIR/$name.log" 2>&1 </dev/null &
  echo $! >"$NODE/$name.pid"
}

wait_until() { # wait_until SECONDS COMMAND...
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < end)) || return 1; sleep 0.5; done
}

node_ready() {
  kubectl --kubeconfig "$KCFG" get node "$NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True
}

ready_or_gone() { node_ready || ! alive kubelet; }

# bring_up IMAGE_TARBALL...: every step fails the whole with a last line saying what failed (the caller
# prints it as its one line, and cleans up).
bring_up() {
  write_configs || { echo "writing the node's configuration and certificates failed"; return 1; }
  # The holder of the namespaces; the propagation is private, so no mount made in it reaches the host.
  setsid unshare --mount --net --propagation private --fork -- "$ROOT/scripts/node.sh" _namespaces \
    >"$LOGDIR/namespaces.log" 2>&1 </dev/null &
  wait_until 10 test -s "$NODE/namespaces.pid" || { echo "the namespaces did not come up"; return 1; }
  ip link add name "$HOST_LINK" type veth peer name eth0 netns "$(pid_of namespaces)" &&
    ip addr add "$HOST_IP/30" dev "$HOST_LINK" && ip link set "$HOST_LINK" up &&
    in_node ip addr add "$NODE_IP/30" dev eth0 && in_node ip link set eth0 up &&
    in_node ip route add default via "$HOST_IP" || { echo "the veth pair $HOST_LINK did not come up"; return 1; }
  start_on_host forward "$PY" "$ROOT/scripts/node/forward.py" "/proc/$(pid_of namespaces)/ns/net" "$(api_port)" \
    127.0.0.1 "$NODE_IP"
  wait_until 10 in_node bash -c "echo >/dev/tcp/127.0.0.1/$(api_port) && echo >/dev/tcp/$NODE_IP/$(api_port)" ||
    { echo "the API server forward did not come up ($LOGDIR/forward.log)"; return 1; }
  start containerd env PATH="$BIN:$PATH" containerd --config "$NODE/containerd.toml"
  wait_until 30 in_node ctr --address /run/containerd/containerd.sock version ||
    { echo "containerd did not answer ($LOGDIR/containerd.log)"; return 1; }
  import_images "$@" || return 1
  mkdir_cgroups || { echo "cannot make the cgroup /$CGROUP_ROOT"; return 1; }
  start kubelet kubelet --config "$NODE/kubelet.yaml" --kubeconfig "$NODE/kubelet.kubeconfig" \
    --root-dir "$NODE/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --node-labels "$LABEL=true"
  start kube-proxy kube-proxy --config "$NODE/kube-proxy.yaml"
  start coredns coredns -conf "$NODE/Corefile"
  wait_until 120 ready_or_gone
  alive kubelet || { echo "the kubelet exited: $(tail -n 1 "$LOGDIR/kubelet.log" | cut -c1-300)"; return 1; }
  node_ready || { echo "$NODE_NAME did not become Ready in 120 s ($LOGDIR/kubelet.log)"; return 1; }
}

# import_images TARBALL...: the node's images (scripts/node-image.sh) into containerd's k8s.io namespace.
import_images() {
  local tar
  for tar in "$@"; do
    in_node ctr --address /run/containerd/containerd.sock -n k8s.io images import --all-platforms "$tar" \
      >>"$LOGDIR/images.log" 2>&1 || { echo "importing $tar failed ($LOGDIR/images.log)"; return 1; }
  done
}

# import_missing: build and import the images containerd lacks, on a running node (an image whose inputs
# changed since the node started has a new tag: the stand-in's is the hash of its inputs).
import_missing() {
  local have name ref tar
  have=$(in_node ctr --address /run/containerd/containerd.sock -n k8s.io images ls -q 2>/dev/null) || return 1
  for name in pause debian standin; do
    ref=$("$ROOT/scripts/node-image.sh" ref "$name") || return 1
    grep -qxF "$ref" <<<"$have" && continue
    tar=$("$ROOT/scripts/node-image.sh" "$name") || return 1
    log "importing $ref into the running node"
    import_images "$tar" || return 1
  done
}

# hierarchies: the cgroup v1 hierarchies the node's cgroup root is made in (the kubelet adds one in the
# cgroup v2 `unified` hierarchy of this hybrid layout itself; `down` removes both).
hierarchies() { local d; for d in /sys/fs/cgroup/*/; do [[ $d == */unified/ ]] || echo "${d%/}"; done; }

mkdir_cgroups() {
  local h
  for h in $(hierarchies); do
    mkdir -p "$h/$CGROUP_ROOT" || return 1
    if [[ -f $h/cpuset.cpus ]]; then # a new cpuset has no CPUs or memory nodes until given its parent's
      cat "$h/cpuset.cpus" >"$h/$CGROUP_ROOT/cpuset.cpus" && cat "$h/cpuset.mems" >"$h/$CGROUP_ROOT/cpuset.mems" || return 1
    fi
  done
}

# remove_cgroups: kill what is left in the kubelet's cgroups (the pods' processes), then remove them,
# deepest first.
remove_cgroups() {
  local h p
  for h in $(hierarchies) /sys/fs/cgroup/unified; do
    [[ -d $h/$CGROUP_ROOT ]] || continue
    for p in $(find "$h/$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null || true); do
      kill -9 "$p" 2>/dev/null || true
    done
  done
  for h in $(hierarchies) /sys/fs/cgroup/unified; do
    [[ -d $h/$CGROUP_ROOT ]] || continue
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      find "$h/$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d $h/$CGROUP_ROOT ]] || break
      sleep 0.3
    done
  done
}

up() {
  local reason images
  if [[ -f $STATUS ]] && grep -qx NODE_STATUS=up "$STATUS" && alive namespaces && alive kubelet && node_ready; then
    log "real node $NODE_NAME already running ($NODE_IP)"
    # The node runs on: a test that needs a missing image fails, naming it.
    import_missing || log "real node: an image did not build or import (above); the tests that use it fail"
    return 0
  fi
  reason=$(unsupported)
  [[ -z $reason ]] || { not_up "$reason"; return 0; }
  images=$("$ROOT/scripts/node-image.sh" all) || { not_up "its images did not build (above)"; return 0; }
  down_quietly
  rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"
  local start=$SECONDS
  printf '\033[1m==> real node %s: starting containerd, kubelet, kube-proxy, CoreDNS in namespaces of its own ...\033[0m' "$NODE_NAME" >&2
  # shellcheck disable=SC2086 # one path per word
  if bring_up $images >"$UPLOG" 2>&1 && node_ready; then
    printf ' Ready in %d s (%s, label %s=true, taint %s:NoSchedule)\n' $((SECONDS - start)) "$NODE_IP" "$LABEL" "$LABEL" >&2
    status_line up
  else
    printf ' failed\n' >&2
    reason=$(tail -n 1 "$UPLOG")
    down_quietly
    not_up "${reason:-it did not start} (log: $UPLOG)"
  fi
}

# node_mnt: the node's mount namespace (mnt:[inode]), read from its holder; empty when the pid file is stale.
node_mnt() {
  local holder
  holder=$(pid_of namespaces) || return 0
  grep -qa "$HOLDER" "/proc/$holder/cmdline" 2>/dev/null || return 0 # a stale pid file: not ours
  readlink "/proc/$holder/ns/mnt" || true
}

# pids_in MNT: every process in mount namespace MNT (the holder, the daemons and containerd's shims, which
# outlive containerd by design), found by that namespace, not by name.
pids_in() {
  local p
  for p in /proc/[0-9]*; do
    if [[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$1" ]]; then echo "${p#/proc/}"; fi
  done
}

# forward_pid: the API server forward's pid, when its pid file still names it.
forward_pid() { local p; p=$(pid_of forward) && grep -qa forward.py "/proc/$p/cmdline" 2>/dev/null && echo "$p"; }

down_quietly() {
  local name p pids
  for name in coredns kube-proxy kubelet; do # these first: they would restart what is killed next
    p=$(pid_of "$name") && grep -qa -- "$name" "/proc/$p/cmdline" 2>/dev/null && kill "$p" 2>/dev/null || true
  done
  remove_cgroups # the pods' processes
  local mnt signal end=$((SECONDS + 10))
  mnt=$(node_mnt)
  # TERM, up to 10 s for them to go, then KILL; each round looks the processes up again (no reused pid).
  for signal in TERM KILL; do
    pids="$(if [[ -n $mnt ]]; then pids_in "$mnt"; fi) $(forward_pid || true)"
    [[ -n ${pids// /} ]] || break
    # shellcheck disable=SC2086
    kill -s "$signal" $pids 2>/dev/null || true
    while [[ $signal == TERM ]] && ((SECONDS < end)); do
      [[ -z "$(if [[ -n $mnt ]]; then pids_in "$mnt"; fi)$(forward_pid || true)" ]] && break
      sleep 0.3
    done
  done
  remove_cgroups
  ip link del "$HOST_LINK" 2>/dev/null || true
  if [[ -f $KCFG ]]; then kubectl --kubeconfig "$KCFG" --request-timeout 5s delete node "$NODE_NAME" --wait=false >/dev/null 2>&1 || true; fi
  rm -rf "$NODE"
  rm -f "$STATUS"
}

case ${1:-} in
  up) up ;;
  down) down_quietly; log "real node $NODE_NAME removed" ;;
  status) cat "$STATUS" 2>/dev/null || echo "NODE_STATUS=down" ;;
  address) echo "$NODE_IP" ;;
  _namespaces) namespaces_main ;;
  *) echo "usage: $0 up|down|status|address" >&2; exit 2 ;;
esac
