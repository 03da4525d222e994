#!/usr/bin/env bash
# Build the local-cluster toolchain from the Go module proxy at the pinned versions, into the tool
# cache: the Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl), etcd, kwok/kwokctl and CoreDNS. Reuses whatever the cache already holds.
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces staging modules with local
# paths), so a throwaway wrapper module requires it and maps each staging module to its v0.x tag.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

KV=$KUBERNETES_VERSION
kube_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

build_kubernetes() {
  local missing=()
  for b in "${kube_bins[@]}"; do have_version "$b" "$KV" || missing+=("$b"); done
  [[ ${#missing[@]} -eq 0 ]] && { log "kubernetes $KV binaries cached"; return 0; }
  local src="$CACHE/src/kubernetes-$KV"
  mkdir -p "$src"
  log "preparing wrapper module for k8s.io/kubernetes $KV in $src"
  local gomod; gomod=$(go mod download -json "k8s.io/kubernetes@$KV" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  local minor=${KV#v1.}; minor=${minor%%.*}
  local staging_version="v0.${KV#v1.}"
  {
    echo "module local/kubetools"
    grep -E '^(go|godebug) ' "$gomod"
    echo "require k8s.io/kubernetes $KV"
    echo "replace ("
    # Every local staging replace (k8s.io/x => ./staging/...) becomes k8s.io/x => k8s.io/x v0.Y.Z.
    sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod"
    echo ")"
  } >"$src/go.mod"
  echo "package kubetools" >"$src/doc.go"
  local pkgs=(); for b in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$src" && go get "${pkgs[@]/%/@$KV}")
  local vpkg=k8s.io/component-base/version
  local ldflags="-s -w -X $vpkg.gitVersion=$KV -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
  log "compiling ${missing[*]} (cold build: tens of minutes on 2 cores; later runs reuse the Go build cache)"
  local start=$SECONDS
  (cd "$src" && go build -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}")
  for b in "${missing[@]}"; do stamp "$b" "$KV"; done
  log "kubernetes $KV built in $((SECONDS - start))s"
}

build_kubernetes
# etcd's root module has replace directives; its server module builds the etcd main package.
go_wrapped etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
go_install kwokctl "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
go_install coredns "github.com/coredns/coredns@$COREDNS_VERSION"
# cert-manager's real CRDs (deploy/crds/ of its Go module), so the API server validates the chart's
# Certificate in the smoke suite; only the module is fetched, nothing is built.
log "cert-manager $CERT_MANAGER_VERSION CRDs in the Go module cache"
go mod download "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION"
# The same for prometheus-operator's CRDs (the chart's ServiceMonitor).
log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs in the Go module cache"
go mod download "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
