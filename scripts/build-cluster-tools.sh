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
# The Kubernetes binaries come from k8s.io/kubernetes through the wrapper module of lib.sh's `kubernetes`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

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
