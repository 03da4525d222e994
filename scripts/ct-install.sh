#!/usr/bin/env bash
# chart-testing install (`ct install`: helm install --wait, helm test, uninstall) of every cluster
# scenario against the cluster of $KUBECONFIG. ct installs every ci/*-values.yaml it finds, so the
# chart is copied into a scratch git repository without the render-only (`# smoke: no`) scenarios.
# Extra arguments go to ct.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/charts" "$work/scripts"
cp -r "$ROOT/charts/emqx-ee" "$work/charts/"
grep -l '^# smoke: no' "$work"/charts/emqx-ee/ci/*-values.yaml | xargs -r rm
cp "$ROOT/ct.yaml" "$work/"
cp -r "$ROOT/scripts/ct" "$work/scripts/"
git -C "$work" init -q
git -C "$work" add -A
git -C "$work" -c user.name=ct -c user.email=ct@localhost commit -qm "cluster scenarios"
# A cluster with static volumes (the kwok cluster's no-provisioner StorageClass) retains released volumes
# instead of reusing them: top the pool up to what installing every scenario claims, plus the 16 free
# volumes every smoke test namespace expects (other tests may run while ct installs).
if [[ "$(kubectl get storageclass standard -o jsonpath='{.provisioner}' 2>/dev/null)" == kubernetes.io/no-provisioner ]]; then
  (cd "$ROOT/tests" && "$CACHE/venv/bin/python" -m harness.volumes --kubeconfig "$KUBECONFIG" --free 16 --for-scenarios)
fi
log "ct install of $(ls "$work"/charts/emqx-ee/ci | tr '\n' ' ')"
cd "$work"
PATH="$CACHE/venv/bin:$PATH" ct install --config ct.yaml --charts charts/emqx-ee "$@"
