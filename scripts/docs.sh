#!/usr/bin/env bash
# Regenerate the value documentation from the `# --` comments of values.yaml, its single source:
# charts/emqx-ee/README.md (helm-docs, from README.md.gotmpl) and the descriptions of values.schema.json
# (scripts/schema_docs.py). Extra arguments go to helm-docs (the unit suite passes --dry-run to detect a
# stale README; tests/unit/test_values_docs.py checks the schema).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[[ " $* " == *" --dry-run "* ]] || python3 "$ROOT/scripts/schema_docs.py"
exec helm-docs --chart-search-root charts --template-files README.md.gotmpl --sort-values-order file \
  --log-level warning "$@"
