#!/usr/bin/env bash
# Install the static analysers of tests/unit/test_static_analysis.py into the tool cache:
#   kube-score  built from its Go module at KUBE_SCORE_VERSION (scripts/versions.env) into $BIN
#   checkov     from PyPI at the pin in tests/requirements-analysis.txt, in a venv of its own
#               ($CACHE/venv-checkov, linked as $BIN/checkov): its dependency tree pins versions that
#               clash with tests/requirements.txt, so it never shares the test venv.
# Idempotent: stamps hold the versions (checkov's, a hash of its requirements file), so a second run
# only checks them. One line per tool; the full output goes to $CACHE/logs/<tool>-<version>.log, whose
# path and last lines are printed on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# The module has no replace directives, so a plain `go install` builds it; the ldflags fill in what
# `kube-score version` prints (goreleaser sets them for the released binaries).
kube_score() {
  go_install kube-score "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION" \
    "-X main.version=${KUBE_SCORE_VERSION#v} -X main.commit=go-module-proxy"
}

checkov() {
  local req="$ROOT/tests/requirements-analysis.txt" venv="$CACHE/venv-checkov"
  local pin version
  pin=$(awk -F'==' '$1 == "checkov" {print $2}' "$req")
  [[ -n $pin ]] || die "tests/requirements-analysis.txt pins no checkov version (want a line checkov==X.Y.Z)"
  version="$pin+$(sha256sum "$req" | cut -c1-12)"
  if have_version checkov "$version" && [[ -x $venv/bin/checkov ]]; then
    log "checkov $pin cached ($venv)"
    return 0
  fi
  step "$LOGS/checkov-$version.log" "checkov $pin: installing from PyPI into $venv" make_venv "$venv" "$req"
  ln -sf "$venv/bin/checkov" "$BIN/checkov"
  stamp checkov "$version"
}

kube_score
checkov
