#!/usr/bin/env bash
# Build the publishing tools from the Go module proxy at pinned versions, into the tool cache:
#   caddy     static web server that serves the chart repository (index.yaml + packages) over HTTPS
#   registry  the CNCF distribution registry, an OCI registry for `helm push` / `helm pull oci://`
# Idempotent: a tool whose version stamp matches its pin is left alone. One line per tool; the full
# Go build log goes to a file under the cache and is printed only when a build fails.
# Neither module has replace directives at these versions, so a plain `go install` works.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Pins: CADDY_VERSION and DISTRIBUTION_VERSION in scripts/versions.env (sourced by lib.sh).

# build NAME VERSION MODULE/PKG [ldflags]: go_install with the output in a log file.
build() {
  local name=$1 version=$2 spec=$3 ldflags=${4:-}
  if have_version "$name" "$version"; then
    log "$name $version cached ($BIN/$name)"
    return 0
  fi
  local logfile="$CACHE/build-$name-$version.log" start=$SECONDS
  log "building $name $version from ${spec%@*} (log: $logfile)"
  if ! go_install "$name" "$spec@$version" "$ldflags" >"$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    die "building $name $version failed (full log: $logfile)"
  fi
  log "$name $version built in $((SECONDS - start))s"
}

# Caddy reads its version from the build info of a dependency; built as the main module it says "unknown".
build caddy "$CADDY_VERSION" github.com/caddyserver/caddy/v2/cmd/caddy \
  "-X github.com/caddyserver/caddy/v2.CustomVersion=$CADDY_VERSION"
# Without the ldflag the registry reports "v3.1.2+unknown".
build registry "$DISTRIBUTION_VERSION" github.com/distribution/distribution/v3/cmd/registry \
  "-X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION"
