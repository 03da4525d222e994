#!/usr/bin/env bash
# Build the publishing tools from the Go module proxy at pinned versions, into the tool cache:
#   caddy     static web server that serves the chart repository (index.yaml + packages) over HTTPS
#   registry  the CNCF distribution registry, an OCI registry for `helm push` / `helm pull oci://`
# Idempotent: a tool whose version stamp matches its pin is left alone. One line per tool; the full
# Go output goes to $CACHE/logs/<tool>-<version>.log, whose path and last lines are printed on failure.
# Neither module has replace directives at these versions, so a plain `go install` works.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Pins: CADDY_VERSION and DISTRIBUTION_VERSION in scripts/versions.env (sourced by lib.sh).

# Caddy reads its version from the build info of a dependency; built as the main module it says "unknown".
go_install caddy "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION" \
  "-X github.com/caddyserver/caddy/v2.CustomVersion=$CADDY_VERSION"
# Without the ldflag the registry reports "v3.1.2+unknown".
go_install registry "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" \
  "-X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION"
