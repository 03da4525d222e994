#!/usr/bin/env bash
# Build helm-batch, the render suite's helm (tests/harness/helm.py), into the tool cache: the small Go
# program in scripts/helm-batch/ that runs Helm 4's own command tree for many `helm template` and
# `helm lint` requests in one process. Built against the go.mod/go.sum committed next to it, which pin
# the same Helm as HELM_VERSION; it shares the Go build cache with the helm build, so after helm it
# only links. Idempotent: the stamp is the Helm version plus a hash of the program's sources.
# One progress line; the Go output goes to $CACHE/logs/helm-batch-<version>.log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

name=helm-batch
src="$ROOT/scripts/helm-batch"

pinned=$(awk 'NF >= 2 && $(NF-1) == "helm.sh/helm/v4" {print $NF}' "$src/go.mod")
[[ $pinned == "$HELM_VERSION" ]] ||
  die "scripts/helm-batch/go.mod requires helm '${pinned:-?}', the pin is $HELM_VERSION: run (cd scripts/helm-batch && go get helm.sh/helm/v4@$HELM_VERSION && go mod tidy)"

sources_hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
version="$HELM_VERSION+$sources_hash"
if have_version "$name" "$version"; then
  log "$name $version cached"
  exit 0
fi

# The version helm's own build injects, so that .Capabilities.HelmVersion is the same in both.
build() {
  rm -f "$BIN/$name" "$BIN/$name.version" &&
    (cd "$src" && go build -mod=readonly -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" -o "$BIN/$name" .) &&
    stamp "$name" "$version"
}
step "$LOGS/$name-$version.log" "$name $version: building scripts/helm-batch against Helm" build
