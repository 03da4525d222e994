#!/usr/bin/env bash
# Build the local-cluster toolchain from the Go module proxy at the pinned versions, into the tool
# cache, for one runtime of scripts/cluster.sh:
#   scripts/build-cluster-tools.sh [kwok]  the Kubernetes control plane (kube-apiserver,
#                                          kube-controller-manager, kube-scheduler), kubectl, etcd,
#                                          kwok/kwokctl and CoreDNS
#   scripts/build-cluster-tools.sh kind    kind and kubectl: kind runs its own control plane in Docker
# Both also fetch the cert-manager and prometheus-operator CRDs the smoke suite installs.
# Reuses whatever the cache already holds, and a kubectl or kind on PATH that reports the pinned version.
# One line per tool; the full build output goes to $CACHE/logs/<tool>-<version>.log.
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces staging modules with local
# paths), so a throwaway wrapper module requires it and maps each staging module to its v0.x tag.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

KV=$KUBERNETES_VERSION

# kubernetes BINARY...: the named binaries of k8s.io/kubernetes at KV (kubectl may come from PATH).
kubernetes() {
  local missing=() b
  for b in "$@"; do
    if [[ $b == kubectl ]]; then
      reuse kubectl "$KV" kubectl_version || missing+=(kubectl)
    elif have_version "$b" "$KV"; then
      log "$b $KV cached"
    else
      missing+=("$b")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  step "$LOGS/kubernetes-$KV.log" "${missing[*]} $KV: building from k8s.io/kubernetes through a wrapper module" \
    build_kubernetes "${missing[@]}"
}
kubectl_version() { "$1" version --client -o json | sed -n 's/^ *"gitVersion": "\([^"]*\)".*/\1/p'; }

# build_kubernetes BINARY...: runs under step, so every failure is an explicit return.
build_kubernetes() {
  local src="$CACHE/src/kubernetes-$KV" gomod b
  mkdir -p "$src" || return 1
  echo "wrapper module for k8s.io/kubernetes $KV in $src"
  gomod=$(go mod download -json "k8s.io/kubernetes@$KV" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') || return 1
  [[ -f $gomod ]] || { echo "go mod download k8s.io/kubernetes@$KV gave no go.mod"; return 1; }
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
  } >"$src/go.mod" || return 1
  echo "package kubetools" >"$src/doc.go" || return 1
  local pkgs=(); for b in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$src" && go get "${pkgs[@]/%/@$KV}") || return 1
  local vpkg=k8s.io/component-base/version
  local ldflags="-s -w -X $vpkg.gitVersion=$KV -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
  # Cold: tens of minutes on 2 cores; later builds reuse the Go build cache. Links to reused binaries
  # go first: `go build -o` could write through them.
  for b in "$@"; do rm -f "$BIN/$b" "$BIN/$b.version" || return 1; done
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}") || return 1
  for b in "$@"; do stamp "$b" "$KV" || return 1; done
}

kind_version() { "$1" version | awk '{print $2}'; } # "kind v0.33.0 go1.26.8 linux/amd64"

case ${1:-kwok} in
  kwok)
    kubernetes kube-apiserver kube-controller-manager kube-scheduler kubectl
    # etcd's root module has replace directives; its server module builds the etcd main package.
    go_wrapped etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
    go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    go_install kwokctl "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
    go_install coredns "github.com/coredns/coredns@$COREDNS_VERSION"
    ;;
  kind)
    reuse kind "$KIND_VERSION" kind_version || go_install kind "sigs.k8s.io/kind@$KIND_VERSION"
    kubernetes kubectl
    ;;
  *) die "usage: $0 [kwok|kind]" ;;
esac
# cert-manager's real CRDs (deploy/crds/ of its Go module), so the API server validates the chart's
# Certificate in the smoke suite; only the module is fetched, nothing is built.
go_module cert-manager github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION"
# The same for prometheus-operator's CRDs (the chart's ServiceMonitor).
go_module prometheus-operator github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION"
