#!/usr/bin/env bash
# Build actionlint, the GitHub Actions workflow linter, from its Go module at a pinned version into the
# tool cache. tests/unit/test_workflow.py runs it over .github/workflows/, the CI workflow that cannot
# run on this machine. Idempotent: a binary whose version stamp matches the pin is left alone.
# Prints one line; the full Go build log goes to a file under the cache and is printed when the build fails.
# actionlint's module has no replace directives, so a plain `go install` works.
# actionlint also runs shellcheck over `run:` blocks when shellcheck is on PATH (Debian package
# `shellcheck`); without it that one check is skipped and everything else still runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Pin: ACTIONLINT_VERSION in scripts/versions.env (sourced by lib.sh).
version=$ACTIONLINT_VERSION
name=actionlint

if have_version "$name" "$version"; then
  log "$name $version cached ($BIN/$name)"
  exit 0
fi
mkdir -p "$CACHE/logs"
logfile="$CACHE/logs/$name-$version-build.log" start=$SECONDS
# Without the first flag `actionlint -version` prints the module version; release binaries carry the
# version without its "v" (GoReleaser's {{.Version}}), and its usage text links the docs of that tag.
ldflags="-X github.com/rhysd/actionlint.version=${version#v}"
ldflags+=" -X 'github.com/rhysd/actionlint.installedFrom=built from the Go module proxy by scripts/build-actionlint.sh'"
log "building $name $version from github.com/rhysd/actionlint (log: $logfile)"
# go_install runs in a subshell with errexit of its own: under `if !` bash would ignore a failed
# `go install` inside it and still write the version stamp.
rm -f "$BIN/$name.version"
set +e
(set -e; go_install "$name" "github.com/rhysd/actionlint/cmd/actionlint@$version" "$ldflags") >"$logfile" 2>&1
rc=$?
set -e
if [[ $rc != 0 || "$("$BIN/$name" -version 2>/dev/null | head -1)" != "${version#v}" ]]; then
  rm -f "$BIN/$name.version"
  cat "$logfile" >&2
  die "building $name $version failed (full log: $logfile)"
fi
log "$name $version built in $((SECONDS - start))s"
