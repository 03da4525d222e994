#!/usr/bin/env bash
# Install the tools the chart's tests need, at the versions pinned in scripts/versions.env and
# tests/requirements.txt, into a cache outside the repository. Idempotent: a second run
# with everything present only checks stamps and takes seconds.
#   scripts/bootstrap.sh            Python venv, mosquitto, shellcheck, helm v4 + v3, chart-testing,
#                                   helm-docs, the NetworkPolicy engine, caddy, the OCI registry,
#                                   kube-score, checkov and actionlint
#   scripts/bootstrap.sh --demo     only what the demo and the local cluster need: the Python venv
#                                   and helm v4 (scripts/cluster.sh up runs this one)
#   --cluster | --cluster=kwok      also the kwok cluster's tools: the Kubernetes control plane,
#                                   kubectl, etcd, kwok and CoreDNS, and its real node's
#                                   (scripts/build-node-tools.sh)
#   --cluster=kind                  also the kind cluster's tools: kind and kubectl
# One line per tool; each build's or install's full output goes to $CACHE/logs/<tool>-<version>.log,
# whose path and last lines are printed when it fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

cluster='' demo=no
for arg in "$@"; do
  case $arg in
    --cluster | --cluster=kwok) cluster=kwok ;;
    --cluster=kind) cluster=kind ;;
    --demo) demo=yes ;;
    *) die "usage: $0 [--demo] [--cluster[=kwok|kind]]" ;;
  esac
done

python_env() {
  local venv="$CACHE/venv" req="$ROOT/tests/requirements.txt"
  local want; want=$(sha256sum "$req" | cut -c1-16)
  if [[ -x "$venv/bin/python" && "$(cat "$venv/.requirements" 2>/dev/null)" == "$want" ]]; then
    log "python venv up to date ($venv)"; return 0
  fi
  step "$LOGS/venv-$want.log" "python venv: installing tests/requirements.txt from PyPI into $venv" \
    make_venv "$venv" "$req"
  echo "$want" >"$venv/.requirements"
}

# helm_tool NAME MAJOR VERSION: a helm binary named NAME. Reuse the helm on PATH when it already
# reports VERSION; otherwise build it from the Go module proxy.
helm_version() { "$1" version --template '{{.Version}}'; }
helm_tool() {
  local name=$1 major=$2 version=$3
  reuse "$name" "$version" helm_version helm && return 0
  go_install "$name" "helm.sh/helm/v$major/cmd/helm@$version" "$(helm_ldflags "$major" "$version")"
}

# debian_package NAME [BINARY]: a Debian package the tests use, installed with apt when its binary is
# missing: mosquitto (the real MQTT broker of tests/unit/test_helm_test_script.py) and shellcheck
# (actionlint runs it on the workflows' run: blocks).
debian_package() {
  local name=$1 binary=${2:-$1}
  if type -P "$binary" >/dev/null || [[ -x /usr/sbin/$binary ]]; then
    log "$name present"; return 0
  fi
  step "$LOGS/apt-$name.log" "$name: installing Debian's package with apt" apt_install "$name" ||
    die "could not install $name; install it with your package manager"
}

python_env
helm_tool helm 4 "$HELM_VERSION"
if [[ $demo == no ]]; then
debian_package mosquitto
debian_package shellcheck
helm_tool helm3 3 "$HELM3_VERSION"
# helm-batch and helm3-batch: the render suite's Helm 4 and Helm 3, many commands per process (right after
# helm, whose Go build cache helm-batch reuses).
"$ROOT/tools/helm-batch/build.sh"
# chart-testing: the proxy refuses to list its versions, which plain `go install` needs.
go_wrapped ct github.com/helm/chart-testing/v3 "$CHART_TESTING_VERSION" github.com/helm/chart-testing/v3/ct \
  "-X github.com/helm/chart-testing/v3/ct/cmd.Version=$CHART_TESTING_VERSION"
# helm-docs generates the chart README's parameter table; a unit test fails when it is stale.
go_install helm-docs "github.com/norwoodj/helm-docs/cmd/helm-docs@$HELM_DOCS_VERSION" \
  "-X main.version=$HELM_DOCS_VERSION"
# The NetworkPolicy engine (tests/harness/netpol.py), the publishing servers (tests/publish/), the
# static analysers (kube-score, checkov) and actionlint.
"$ROOT/tools/netpol-engine/build.sh"
"$ROOT/scripts/build-publish-tools.sh"
"$ROOT/scripts/build-analysis-tools.sh"
"$ROOT/scripts/build-actionlint.sh"
fi
if [[ -n $cluster ]]; then
  "$ROOT/scripts/build-cluster-tools.sh" "$cluster"
fi
# The kwok cluster's real node (scripts/node.sh). The cluster comes up without it when they cannot be built.
if [[ $cluster == kwok ]] && ! "$ROOT/scripts/build-node-tools.sh"; then
  log "real node: its tools did not build (see above); the cluster comes up without it"
fi
tools=()
for f in "$BIN"/*; do [[ $f == *.version ]] || tools+=("${f##*/}"); done
log "tools ready in $BIN: ${tools[*]}"
