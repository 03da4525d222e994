#!/usr/bin/env bash
# Build netpol-truth, the offline NetworkPolicy engine of tests/harness/netpol.py, into the tool cache.
# It is the small Go program in tools/netpol-engine/ around cyclonus's policy matcher
# (github.com/mattfenwick/cyclonus/pkg/matcher), built through the Go module proxy against the
# go.mod/go.sum committed next to it. Idempotent: the stamp is the cyclonus version plus a hash of
# the program's sources, so editing main.go or go.mod rebuilds and nothing else does.
# One progress line; the full Go output goes to $CACHE/logs/netpol-truth-<version>.log, whose path and
# last lines are printed when the build fails.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

# The cyclonus release the engine is built against: CYCLONUS_VERSION in scripts/versions.env.

name=netpol-truth
src="$ROOT/tools/netpol-engine"

# go.mod is the real pin (go.sum checks it); refuse to build when it disagrees with the pin above.
pinned=$(awk 'NF >= 2 && $(NF-1) == "github.com/mattfenwick/cyclonus" {print $NF}' "$src/go.mod")
[[ $pinned == "$CYCLONUS_VERSION" ]] ||
  die "tools/netpol-engine/go.mod requires cyclonus '${pinned:-?}', the pin is $CYCLONUS_VERSION: run (cd tools/netpol-engine && go get github.com/mattfenwick/cyclonus@$CYCLONUS_VERSION && go mod tidy)"

version="$CYCLONUS_VERSION+$(sources_hash "$src/go.mod" "$src/go.sum" "$src/main.go")"
if have_version "$name" "$version"; then
  log "$name $version cached"
  exit 0
fi

# -mod=readonly: build exactly what go.mod/go.sum pin, never rewrite them. The old binary and its stamp
# go first, so a failed build leaves neither.
build() {
  rm -f "$BIN/$name" "$BIN/$name.version" &&
    (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$BIN/$name" .) &&
    stamp "$name" "$version"
}
step "$LOGS/$name-$version.log" "$name $version: building tools/netpol-engine against cyclonus" build
