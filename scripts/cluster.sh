#!/usr/bin/env bash
# Bring a local Kubernetes cluster up or down for the smoke suite and the demo.
#   scripts/cluster.sh up       idempotent: reuses a running cluster, repairs what is missing
#   scripts/cluster.sh down     removes the cluster and everything it wrote
#   scripts/cluster.sh status
#   scripts/cluster.sh runtime  prints the runtime `up` takes (kind or kwok)
# Writes $STATE/kubeconfig and $STATE/cluster.env (runtime, kubeconfig, DNS server) for the tests, and on
# kwok $STATE/real-node.env (whether the real node of scripts/node.sh is up).
# Runtime: kind where a Docker engine answers, otherwise kwok running the real control plane
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler built from source) plus CoreDNS.
# Force one with CLUSTER_RUNTIME=kind or CLUSTER_RUNTIME=kwok. Either way `up` first builds or
# reuses the runtime's tools, kubectl included, with the venv and helm and nothing that only the tests
# use (scripts/bootstrap.sh --demo --cluster=RUNTIME).
# The output of cluster creation goes to $STATE/kwokctl.log or $STATE/kind.log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

NAME=emqx-ee
STATE=${EMQX_EE_STATE:-$ROOT/.work}
KCFG="$STATE/kubeconfig"
export KWOK_WORKDIR="$STATE/kwok"
PY="$CACHE/venv/bin/python"
mkdir -p "$STATE"

# runtime: CLUSTER_RUNTIME, else the runtime of the cluster already set up, else kind when a Docker
# engine answers, else kwok.
runtime() {
  local chosen
  if [[ -n ${CLUSTER_RUNTIME:-} ]]; then chosen=$CLUSTER_RUNTIME
  elif [[ -f "$STATE/cluster.env" ]]; then chosen=$(sed -n 's/^CLUSTER_RUNTIME=//p' "$STATE/cluster.env")
  elif docker info >/dev/null 2>&1; then chosen=kind
  else chosen=kwok; fi
  [[ $chosen == kind || $chosen == kwok ]] ||
    die "unknown cluster runtime '$chosen' (from CLUSTER_RUNTIME or $STATE/cluster.env): want kind or kwok"
  echo "$chosen"
}

# harness_py CODE: run Python with the test harness importable (one DNS client, one port picker).
harness_py() { (cd "$ROOT/tests" && "$PY" -c "$1"); }

api_ready() { kubectl --kubeconfig "$KCFG" get --raw /readyz >/dev/null 2>&1; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    (( SECONDS - start > limit )) && { log "timed out after ${limit}s waiting for $what"; return 1; }
    printf '   waiting for %s (%ss)\r' "$what" $((SECONDS - start)) >&2; sleep 1
  done
  printf '   %s: ok after %ss          \n' "$what" $((SECONDS - start)) >&2
}

# The cluster's Service range and the "kubernetes" Service's ClusterIP, its first address.
SERVICE_CIDR=10.0.0.0/24
SERVICE_IP=10.0.0.1

kwok_config() {
  cat <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeVersion: ${KUBERNETES_VERSION}
  etcdVersion: ${ETCD_VERSION#v}
  bindAddress: 127.0.0.1   # nothing listens beyond loopback
  kubeAuthorization: true
  kubeAdmission: true      # PodSecurity admission judges the pods for real
  # StatefulSet rollingUpdate.maxUnavailable (KEP-961): beta but off by default in Kubernetes 1.36
  # (kube-apiserver --help), and the API server drops the field while it is off.
  kubeFeatureGates: MaxUnavailableStatefulSet=true
  # Pods reach the API server as on any cluster, at the "kubernetes" Service's ClusterIP (the first address of
  # the service range) or https://kubernetes.default.svc, and verify it with their ca.crt: kwokctl's certificate
  # names kubernetes.default.svc[.cluster.local] (kwok pkg/kwokctl/pki DefaultAltNames) but not the ClusterIP.
  kubeApiserverCertSANs: [${SERVICE_IP}]
  kubeApiserverBinary: $BIN/kube-apiserver
  kubeControllerManagerBinary: $BIN/kube-controller-manager
  kubeSchedulerBinary: $BIN/kube-scheduler
  kubectlBinary: $BIN/kubectl
  etcdBinary: $BIN/etcd
  kwokControllerBinary: $BIN/kwok
componentsPatches:
# The API server's client certificate towards kubelets (pod logs, exec, port-forward): the real node's
# kubelet authenticates callers by the cluster CA (scripts/node.sh); kwok's nodes are never called. It
# reaches a kubelet at the node's InternalIP: its Hostname address (the API server's first choice by
# default) resolves nowhere on this machine.
#
# The "kubernetes" Service's endpoint is the API server's advertised address (by default the host's primary
# address, where nothing listens: the API server binds loopback only). It advertises the real node's address
# instead, where scripts/node/forward.py takes a pod's connection, DNATed there by kube-proxy, on to the
# API server on the host's loopback. The service range is the API server's default
# (k8s.io/kubernetes pkg/kubeapiserver/options DefaultServiceIPCIDR), written out because the certificate
# names its first address.
- name: kube-apiserver
  extraArgs:
  - {key: advertise-address, value: $("$ROOT/scripts/node.sh" address)}
  - {key: service-cluster-ip-range, value: ${SERVICE_CIDR}}
  - {key: kubelet-preferred-address-types, value: "InternalIP,Hostname"}
  - {key: kubelet-client-certificate, value: $KWOK_WORKDIR/clusters/$NAME/pki/admin.crt}
  - {key: kubelet-client-key, value: $KWOK_WORKDIR/clusters/$NAME/pki/admin.key}
# The controller manager's client may send 100 requests a second (burst 200) instead of 20 (burst 30): the
# suite runs dozens of releases at once, and at 20 a second the controllers' writes and events queue behind
# each other (a PodSecurity refusal's event then arrives a minute late).
- name: kube-controller-manager
  extraArgs:
  - {key: kube-api-qps, value: "100"}
  - {key: kube-api-burst, value: "200"}
# kwok plays the kubelet only for its own nodes (scripts/cluster/kwok-nodes.yaml and the drills' copies carry
# the annotation), never for the real node, whose status and pods its kubelet owns.
- name: kwok-controller
  extraArgs:
  - {key: manage-all-nodes, value: "false"}
  - {key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake}
---
YAML
  cat "$ROOT/scripts/cluster/kwok-stages.yaml"
}

start_coredns() {
  local pidfile="$STATE/coredns.pid"
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "CoreDNS already serving on $(cat "$STATE/dns-server")"; return 0
  fi
  local port; port=$(harness_py 'from harness.cluster import free_port; print(free_port())')
  cat >"$STATE/Corefile" <<COREFILE
.:$port {
    bind 127.0.0.1
    errors
    kubernetes cluster.local {
        kubeconfig $KCFG
    }
}
COREFILE
  log "starting CoreDNS $COREDNS_VERSION on 127.0.0.1:$port (kubernetes plugin, zone cluster.local)"
  nohup coredns -conf "$STATE/Corefile" >"$STATE/coredns.log" 2>&1 &
  echo $! >"$pidfile"
  echo "127.0.0.1:$port" >"$STATE/dns-server"
  wait_for 60 "CoreDNS answers for kubernetes.default" harness_py \
    "from harness.cluster import Dns; assert Dns('127.0.0.1:$port').a('kubernetes.default.svc.cluster.local')"
}

up_kwok() {
  "$ROOT/scripts/bootstrap.sh" --demo --cluster=kwok
  if api_ready; then
    log "kwok cluster $NAME already running"
  else
    kwokctl delete cluster --name "$NAME" >/dev/null 2>&1 || true
    kwok_config >"$STATE/kwokctl.yaml"
    # The components inherit kwokctl's environment. GOGC=400: the API server collects garbage less often,
    # trading some memory for the CPU the suite needs (measured in docs/benchmarks.md).
    step "$STATE/kwokctl.log" "kwok cluster $NAME: creating (Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)" \
      env GOGC=400 kwokctl create cluster --name "$NAME" --config "$STATE/kwokctl.yaml" --kubeconfig "$KCFG" --wait 2m
    wait_for 120 "kube-apiserver /readyz" api_ready
  fi
  kubectl --kubeconfig "$KCFG" apply -f "$ROOT/scripts/cluster/kwok-nodes.yaml" -f "$ROOT/scripts/cluster/storageclass.yaml" >/dev/null
  wait_for 120 "3 Ready nodes" kubectl --kubeconfig "$KCFG" wait --for=condition=Ready node -l type=kwok --timeout=2s
  (cd "$ROOT/tests" && "$PY" -m harness.volumes --kubeconfig "$KCFG" --free 24)
  start_coredns
  # One node run by a real kubelet (containerd, runc, kube-proxy), where the kernel and privileges allow it;
  # it prints one line and the cluster goes on without it where they do not.
  "$ROOT/scripts/node.sh" up || log "real node: scripts/node.sh up failed (above); the cluster comes up without it"
  write_env kwok "$(cat "$STATE/dns-server")"
}

up_kind() {
  # kind and kubectl; not the control plane, etcd, kwok or CoreDNS, which kind runs in its node containers.
  "$ROOT/scripts/bootstrap.sh" --demo --cluster=kind
  if kind get clusters 2>/dev/null | grep -qx "$NAME"; then
    log "kind cluster $NAME already running"
    kind get kubeconfig --name "$NAME" >"$KCFG"
  else
    step "$STATE/kind.log" "kind cluster $NAME: creating (kind $KIND_VERSION and its default node image)" \
      kind create cluster --name "$NAME" --config "$ROOT/scripts/cluster/kind.yaml" --kubeconfig "$KCFG" --wait 300s
  fi
  load_kind_images
  # Cluster DNS is reached through a port-forward to kube-dns that the tests open themselves.
  write_env kind ""
}

# chart_images: the images of the chart's pods with its default values (EMQX at the appVersion, the helm test
# Pod's), from its default render, so that a new appVersion or test image follows by itself.
chart_images() {
  helm template emqx-ee "$ROOT/charts/emqx-ee" | sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\} *$/\1/p' | sort -u
}

# load_kind_images: each of the chart's images pulled once by the Docker engine (unless it has it) and loaded into
# every kind node, so that the nodes do not pull it again for every pod that starts. Saved for the engine's own
# platform only: `kind load docker-image` imports every platform an image index names, and fails on those
# Docker's containerd image store never downloaded (kubernetes-sigs/kind#3795; kind's documented workaround).
# A node that has an image keeps it: loaded again only when the engine's image ID changes.
load_kind_images() {
  local images image id platform archive
  images=$(chart_images) || die "helm template of charts/emqx-ee failed: no images to load into kind"
  mkdir -p "$STATE/images"
  for image in $images; do
    if ! docker image inspect "$image" >/dev/null 2>&1; then
      step "$STATE/docker-pull.log" "docker pull $image" docker pull "$image" || die "docker pull $image failed"
    fi
    id=$(docker image inspect --format '{{.Id}}' "$image")
    archive="$STATE/images/${image//[\/:@]/_}.tar"
    if [[ "$(cat "$archive.loaded" 2>/dev/null)" == "$id" ]]; then
      log "$image already in every node of $NAME"; continue
    fi
    platform=$(docker image inspect --format '{{.Os}}/{{.Architecture}}' "$image")
    step "$STATE/kind-load.log" "kind load $image ($platform) into every node of $NAME" \
      load_archive "$image" "$platform" "$archive" || die "loading $image into kind failed"
    echo "$id" >"$archive.loaded"
  done
}

load_archive() { # load_archive IMAGE PLATFORM ARCHIVE
  docker image save --platform "$2" --output "$3" "$1" && kind load image-archive --name "$NAME" "$3" && rm -f "$3"
}

write_env() {
  printf 'CLUSTER_RUNTIME=%s\nKUBECONFIG=%s\nDNS_SERVER=%s\n' "$1" "$KCFG" "$2" >"$STATE/cluster.env"
  log "cluster ready ($1): export KUBECONFIG=$KCFG"
}

down() {
  local rt; rt=$(runtime)
  case $rt in
    kind) if command -v kind >/dev/null; then kind delete cluster --name "$NAME" || true; fi ;;
    kwok)
      "$ROOT/scripts/node.sh" down || log "real node: scripts/node.sh down failed (above); see docs/real-node.md for what it leaves"
      if [[ -f "$STATE/coredns.pid" ]]; then kill "$(cat "$STATE/coredns.pid")" 2>/dev/null || true; fi
      if command -v kwokctl >/dev/null; then kwokctl delete cluster --name "$NAME" >/dev/null 2>&1 || true; fi ;;
  esac
  rm -rf "$STATE"
  log "cluster $NAME removed"
}

case ${1:-} in
  up) rt=$(runtime); "up_$rt" ;;
  runtime) runtime ;;
  down) down ;;
  status)
    if api_ready; then cat "$STATE/cluster.env" "$STATE/real-node.env" 2>/dev/null; kubectl --kubeconfig "$KCFG" get nodes -L topology.kubernetes.io/zone
    else echo "no cluster running"; exit 1; fi ;;
  *) echo "usage: $0 up|down|status|runtime" >&2; exit 2 ;;
esac
