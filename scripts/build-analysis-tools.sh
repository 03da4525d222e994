#!/usr/bin/env bash
# Install the static analysers of tests/unit/test_static_analysis.py into the tool cache:
#   kube-score  built from its Go module at KUBE_SCORE_VERSION (scripts/versions.env) into $BIN
#   checkov     from PyPI at the pin in tests/requirements-analysis.txt, in a venv of its own
#               ($CACHE/venv-checkov, linked as $BIN/checkov): its dependency tree pins versions that
#               clash with tests/requirements.txt, so it never shares the test venv.
# Idempotent: stamps hold the versions (checkov's, a hash of its requirements file), so a second run
# only checks them. Says what it builds before each long step and how long it took; on failure, prints
# the end of the log and its path ($CACHE/logs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

logdir="$CACHE/logs"
mkdir -p "$logdir"

# fail_with LOGFILE MESSAGE: the end of the log, where it is, and exit.
fail_with() {
  tail -n 30 "$1" >&2
  die "$2; full log: $1"
}

kube_score() {
  local name=kube-score version=$KUBE_SCORE_VERSION logfile="$logdir/kube-score-build.log"
  if have_version "$name" "$version"; then
    log "$name $version cached"
    return 0
  fi
  local start=$SECONDS tmp
  log "building $name $version from its Go module (a few minutes cold; log: $logfile)"
  tmp=$(mktemp -d)
  # The module has no replace directives, so a plain `go install` builds it; the ldflags fill in
  # what `kube-score version` prints (goreleaser sets them for the released binaries).
  if ! GOBIN="$tmp" go install -trimpath \
    -ldflags "-s -w -X main.version=${version#v} -X main.commit=go-module-proxy" \
    "github.com/zegl/kube-score/cmd/kube-score@$version" >"$logfile" 2>&1; then
    rm -rf "$tmp"
    fail_with "$logfile" "building $name $version failed"
  fi
  mv "$tmp/kube-score" "$BIN/$name"
  rm -rf "$tmp"
  stamp "$name" "$version"
  log "$name $version built in $((SECONDS - start))s ($("$BIN/$name" version))"
}

checkov() {
  local req="$ROOT/tests/requirements-analysis.txt" venv="$CACHE/venv-checkov" logfile="$logdir/checkov-install.log"
  local pin version
  pin=$(awk -F'==' '$1 == "checkov" {print $2}' "$req")
  [[ -n $pin ]] || die "tests/requirements-analysis.txt pins no checkov version (want a line checkov==X.Y.Z)"
  version="$pin+$(sha256sum "$req" | cut -c1-12)"
  if have_version checkov "$version" && [[ -x $venv/bin/checkov ]]; then
    log "checkov $pin cached ($venv)"
    return 0
  fi
  local start=$SECONDS
  log "installing checkov $pin from PyPI into $venv (a minute or two cold; log: $logfile)"
  if ! { python3 -m venv --clear "$venv" &&
    "$venv/bin/pip" install --disable-pip-version-check -r "$req"; } >"$logfile" 2>&1; then
    fail_with "$logfile" "installing checkov $pin failed"
  fi
  ln -sf "$venv/bin/checkov" "$BIN/checkov"
  stamp checkov "$version"
  log "checkov $pin installed in $((SECONDS - start))s ($venv)"
}

kube_score
checkov
