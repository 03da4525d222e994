#!/usr/bin/env bash
# Build the render suite's helm programs (tests/harness/helm.py) into the tool cache: helm-batch and
# helm3-batch run many `helm template` and `helm lint` requests in one process each (tools/helm-batch/,
# protocol in tools/helm-batch/protocol/).
# - helm-batch runs Helm 4's exported command tree; it builds against the go.mod/go.sum next to it, which pin
#   HELM_VERSION, and shares the Go build cache of the helm build, so after helm it only links.
# - helm3-batch: Helm 3's command tree is a main package nothing can import, so tools/helm-batch/helm3/batch.go
#   is built into it, in a scratch copy of Helm's module (HELM3_VERSION, from the Go module cache) whose main is
#   renamed helmMain. Nothing of Helm's is kept in this repository.
# Idempotent: each stamp is the Helm version plus a hash of our sources. One progress line per program; the Go
# output goes to $CACHE/logs/<program>-<version>.log.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

src="$ROOT/tools/helm-batch"

pinned=$(awk 'NF >= 2 && $(NF-1) == "helm.sh/helm/v4" {print $NF}' "$src/go.mod")
[[ $pinned == "$HELM_VERSION" ]] ||
  die "tools/helm-batch/go.mod requires helm '${pinned:-?}', the pin is $HELM_VERSION: run (cd tools/helm-batch && go get helm.sh/helm/v4@$HELM_VERSION && go mod tidy)"

# The old binary and its stamp go first, so a failed build leaves neither; -mod=readonly builds exactly what
# the go.mod files pin.
build4() {
  rm -f "$BIN/helm-batch" "$BIN/helm-batch.version" &&
    (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w $(helm_ldflags 4 "$HELM_VERSION")" \
      -o "$BIN/helm-batch" .) &&
    stamp helm-batch "$1"
}

build3() {
  local work="$CACHE/src/helm3-batch" module
  rm -f "$BIN/helm3-batch" "$BIN/helm3-batch.version" && rm -rf "$work" &&
    module=$(go mod download -json "helm.sh/helm/v3@$HELM3_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') &&
    mkdir -p "$(dirname "$work")" && cp -r "$module" "$work" && chmod -R u+w "$work" &&
    { [[ $(grep -c '^func main() {$' "$work/cmd/helm/helm.go") == 1 ]] ||
      { echo "cmd/helm/helm.go of Helm $HELM3_VERSION has no single 'func main() {' line to rename" >&2; false; }; } &&
    sed -i 's/^func main() {$/func helmMain() {/' "$work/cmd/helm/helm.go" &&
    cp "$src/helm3/batch.go" "$work/cmd/helm/zz_batch.go" &&
    (cd "$work" &&
      go mod edit -require=local/helm-batch/protocol@v0.0.0 -replace=local/helm-batch/protocol="$src/protocol" &&
      go build -mod=readonly -trimpath -tags helm3batch -ldflags "-s -w $(helm_ldflags 3 "$HELM3_VERSION")" \
        -o "$BIN/helm3-batch" ./cmd/helm) &&
    stamp helm3-batch "$1"
}

version4="$HELM_VERSION+$(sources_hash "$src/go.mod" "$src/go.sum" "$src/main.go" "$src"/protocol/*)"
if have_version helm-batch "$version4"; then
  log "helm-batch $version4 cached"
else
  step "$LOGS/helm-batch-$version4.log" "helm-batch $version4: building tools/helm-batch against Helm 4" \
    build4 "$version4"
fi
version3="$HELM3_VERSION+$(sources_hash "$src/helm3/batch.go" "$src"/protocol/*)"
if have_version helm3-batch "$version3"; then
  log "helm3-batch $version3 cached"
else
  step "$LOGS/helm3-batch-$version3.log" "helm3-batch $version3: building tools/helm-batch/helm3 into Helm 3's command" \
    build3 "$version3"
fi
