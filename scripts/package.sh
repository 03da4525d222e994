#!/usr/bin/env bash
# Package the chart (charts/emqx-ee) as NAME-VERSION.tgz, with a provenance file when signed.
#   scripts/package.sh [--sign KEY_NAME --keyring SECRING [--pubring PUBRING] [--passphrase-file FILE]]
#                      [--out DIR] [--chart DIR] [--version SEMVER]
# --sign signs with the GnuPG key KEY_NAME from the legacy binary secret keyring SECRING (gpg
# --export-secret-keys >secring.gpg), then checks the package with `helm verify` against PUBRING
# (default: SECRING, which holds the public key too). The default output directory is .work/packages
# (git-ignored). Re-running overwrites the package of the same version. Prints the package path last.
# --version overrides Chart.yaml's version in the package (release candidates, tests).
# HELM selects the helm binary (default: the cached helm 4).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

key="" keyring="" pubring="" passphrase="" out="$ROOT/.work/packages" chart="$ROOT/charts/emqx-ee" version=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --sign) key=${2:?--sign needs a key name}; shift 2 ;;
    --keyring) keyring=${2:?}; shift 2 ;;
    --pubring) pubring=${2:?}; shift 2 ;;
    --passphrase-file) passphrase=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --chart) chart=${2:?}; shift 2 ;;
    --version) version=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
HELM=${HELM:-$BIN/helm}
[[ -x $HELM ]] || die "$HELM not found: run scripts/bootstrap.sh"
[[ -z $key || -n $keyring ]] || die "--sign needs --keyring SECRING (a legacy binary secret keyring)"
[[ -z $keyring || -f $keyring ]] || die "keyring $keyring not found"
mkdir -p "$out"

args=(package "$chart" --destination "$out")
[[ -z $version ]] || args+=(--version "$version")
if [[ -n $key ]]; then
  args+=(--sign --key "$key" --keyring "$keyring")
  [[ -z $passphrase ]] || args+=(--passphrase-file "$passphrase")
fi
log "helm ${args[*]}"
"$HELM" "${args[@]}" >&2
name=$(sed -n 's/^name: *//p' "$chart/Chart.yaml")
[[ -n $version ]] || version=$(sed -n 's/^version: *//p' "$chart/Chart.yaml")
pkg="$out/$name-$version.tgz"
[[ -f $pkg ]] || die "helm package did not write $pkg"

if [[ -n $key ]]; then
  log "helm verify $pkg --keyring ${pubring:-$keyring}"
  "$HELM" verify "$pkg" --keyring "${pubring:-$keyring}" >&2 || die "signed package $pkg does not verify"
else
  # A provenance file left by an earlier signed run would no longer match this package.
  rm -f "$pkg.prov"
  log "unsigned: $pkg (no provenance file; \`helm pull --verify\` will refuse it)"
fi
echo "$pkg"
