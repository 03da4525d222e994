#!/usr/bin/env bash
# The chart repository's index.yaml, built from the packages in DIR and merged with what is published.
#   scripts/repo-index.sh DIR URL [--merge EXISTING_INDEX]   write DIR/index.yaml (helm repo index --merge)
#   scripts/repo-index.sh --check DIR                       fail when DIR/index.yaml is stale
# With --merge, every chart version of EXISTING_INDEX must survive with its digest: a version is never
# dropped and a published package never changes. When one would, DIR/index.yaml is left as it was and
# the script fails naming the versions. --check fails when a package in DIR has no entry in
# DIR/index.yaml or a different digest (an index that was not regenerated after a new package).
# Idempotent: the same packages and the same EXISTING_INDEX give the same entries. artifacthub-repo.yml
# (repository root) is copied next to index.yaml, where Artifact Hub looks for it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
HELM=${HELM:-$BIN/helm}
PYTHON=${PYTHON:-$CACHE/venv/bin/python}
[[ -x $PYTHON ]] || PYTHON=python3

# entries INDEX: one "name version digest" line per chart version of an index.yaml.
entries() {
  "$PYTHON" - "$1" <<'EOF'
import sys

import yaml

with open(sys.argv[1]) as f:
    index = yaml.safe_load(f) or {}
for name, versions in sorted((index.get("entries") or {}).items()):
    for v in versions:
        print(name, v["version"], v.get("digest", "-"))
EOF
}

# packages DIR: one "name version digest" line per chart package in DIR (read from its Chart.yaml).
packages() {
  local tgz
  for tgz in "$1"/*.tgz; do
    [[ -e $tgz ]] || continue
    local meta; meta=$(tar -xzOf "$tgz" --wildcards '*/Chart.yaml' | sed -n 's/^\(name\|version\): *//p' | head -2 | tr '\n' ' ')
    echo "${meta}$(sha256sum "$tgz" | cut -d' ' -f1)"
  done
}

if [[ ${1:-} == --check ]]; then
  dir=${2:?usage: --check DIR}
  [[ -f $dir/index.yaml ]] || die "$dir/index.yaml missing"
  log "checking $dir/index.yaml against the packages in $dir"
  missing=$(comm -23 <(packages "$dir" | sort) <(entries "$dir/index.yaml" | sort))
  [[ -z $missing ]] || die "stale index $dir/index.yaml: no entry (or another digest) for: $(echo "$missing" | cut -d' ' -f1,2 | tr '\n' ';')"
  log "index up to date: $(entries "$dir/index.yaml" | wc -l) chart versions"
  exit 0
fi

[[ $# -ge 2 ]] || usage
dir=$1 url=$2 existing=""
shift 2
while [[ $# -gt 0 ]]; do
  case $1 in
    --merge) existing=${2:?--merge needs an index.yaml}; shift 2 ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done
[[ -d $dir ]] || die "$dir is not a directory"
[[ -z $existing || -f $existing ]] || die "existing index $existing not found"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[[ ! -f $dir/index.yaml ]] || cp "$dir/index.yaml" "$work/previous-index.yaml"
args=(repo index "$dir" --url "$url")
if [[ -n $existing ]]; then
  cp "$existing" "$work/published-index.yaml"   # EXISTING may be DIR/index.yaml itself
  args+=(--merge "$work/published-index.yaml")
fi
log "helm ${args[*]}"
"$HELM" "${args[@]}"

if [[ -n $existing ]]; then
  lost=$(comm -23 <(entries "$work/published-index.yaml" | sort) <(entries "$dir/index.yaml" | sort))
  if [[ -n $lost ]]; then
    if [[ -f $work/previous-index.yaml ]]; then cp "$work/previous-index.yaml" "$dir/index.yaml"; else rm -f "$dir/index.yaml"; fi
    die "refusing: the merged index would drop or change published chart versions (name version digest): $(echo "$lost" | tr '\n' ';') -- bump the chart version instead of republishing"
  fi
  log "merged with $existing: all $(entries "$work/published-index.yaml" | wc -l) published chart versions kept"
fi
# Artifact Hub reads its repository metadata next to index.yaml.
if [[ -f $ROOT/artifacthub-repo.yml ]] && ! cmp -s "$ROOT/artifacthub-repo.yml" "$dir/artifacthub-repo.yml"; then
  log "copying artifacthub-repo.yml next to $dir/index.yaml"
  cp "$ROOT/artifacthub-repo.yml" "$dir/artifacthub-repo.yml"
fi
log "wrote $dir/index.yaml: $(entries "$dir/index.yaml" | cut -d' ' -f1,2 | tr '\n' ' ')"
