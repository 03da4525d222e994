#!/usr/bin/env bash
# Build actionlint, the GitHub Actions workflow linter, from its Go module at a pinned version into the
# tool cache. tools/tests/test_workflow.py runs it over .github/workflows/, the CI workflow that cannot
# run on this machine. Idempotent: a binary whose version stamp matches the pin is left alone.
# One progress line; the full Go output goes to $CACHE/logs/actionlint-<version>.log, whose path and
# last lines are printed when the build fails.
# actionlint's module has no replace directives, so a plain `go install` works.
# actionlint also runs shellcheck over `run:` blocks when shellcheck is on PATH (Debian package
# `shellcheck`); without it that one check is skipped and everything else still runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# Pin: ACTIONLINT_VERSION in scripts/versions.env (sourced by lib.sh).
version=$ACTIONLINT_VERSION
name=actionlint

# Without the first flag `actionlint -version` prints the module version; release binaries carry the
# version without its "v" (GoReleaser's {{.Version}}), and its usage text links the docs of that tag.
ldflags="-X github.com/rhysd/actionlint.version=${version#v}"
ldflags+=" -X 'github.com/rhysd/actionlint.installedFrom=built from the Go module proxy by scripts/build-actionlint.sh'"
go_install "$name" "github.com/rhysd/actionlint/cmd/actionlint@$version" "$ldflags"
# The ldflag above is what makes the binary report the pin: check that it took.
reported=$("$BIN/$name" -version 2>/dev/null | head -1) || true
if [[ $reported != "${version#v}" ]]; then
  rm -f "$BIN/$name.version"
  die "$BIN/$name reports version '$reported', want ${version#v}; removed its stamp, run this script again"
fi
