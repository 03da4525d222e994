#!/usr/bin/env bash
# Push a packaged chart to an OCI registry and read it back.
#   scripts/publish-oci.sh oci://HOST[:PORT]/PATH PACKAGE.tgz [--ca-file CA.pem] [--plain-http]
# Logs in first when REGISTRY_USERNAME and REGISTRY_PASSWORD are set (the password goes through
# stdin, never the command line); otherwise uses the credentials of an earlier `helm registry login`.
# After the push, `helm show chart` reads the chart back from the registry by its version.
# Pushing the same package again is harmless (same digest); a different package under a published
# version is the registry's policy to accept or refuse, so bump the chart version instead.
# HELM selects the helm binary (default: the cached helm 4; helm3 works the same way).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 2 ]] || usage
ref=$1 pkg=$2
shift 2
tls=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --ca-file) tls+=(--ca-file "${2:?}"); shift 2 ;;
    --plain-http) tls+=(--plain-http); shift ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
[[ $ref == oci://* ]] || die "$ref is not an oci:// reference"
[[ -f $pkg ]] || die "package $pkg not found (scripts/package.sh makes it)"
HELM=${HELM:-$BIN/helm}
[[ -x $HELM ]] || die "$HELM not found: run scripts/bootstrap.sh"

host=${ref#oci://}; host=${host%%/*}
if [[ -n ${REGISTRY_USERNAME:-} && -n ${REGISTRY_PASSWORD:-} ]]; then
  log "helm registry login $host --username $REGISTRY_USERNAME ${tls[*]}"
  login_tls=("${tls[@]}")
  # `helm registry login` spells --plain-http the same way; --ca-file too.
  printf '%s' "$REGISTRY_PASSWORD" | "$HELM" registry login "$host" --username "$REGISTRY_USERNAME" --password-stdin "${login_tls[@]}" >&2
fi

log "helm push $pkg $ref ${tls[*]}"
"$HELM" push "$pkg" "$ref" "${tls[@]}" >&2

name=$(tar -xzOf "$pkg" --wildcards '*/Chart.yaml' | sed -n 's/^name: *//p' | head -1)
version=$(tar -xzOf "$pkg" --wildcards '*/Chart.yaml' | sed -n 's/^version: *//p' | head -1)
log "helm show chart $ref/$name --version $version"
"$HELM" show chart "$ref/$name" --version "$version" "${tls[@]}" >/dev/null
log "published $ref/$name:$version"
echo "$ref/$name:$version"
