#!/usr/bin/env bash
# Regenerate charts/emqx-ee/README.md from README.md.gotmpl and the `# --` comments of values.yaml.
# Extra arguments go to helm-docs (the unit suite passes --dry-run to detect a stale README).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
exec helm-docs --chart-search-root charts --template-files README.md.gotmpl --sort-values-order file \
  --log-level warning "$@"
