#!/usr/bin/env bash
# Regenerate what values.yaml, the single source of the values, documents and constrains:
# charts/emqx-ee/values.schema.json (scripts/values_schema.py, from the `# @schema` and `# --` comments and the
# fragments in charts/emqx-ee/schema/) and charts/emqx-ee/README.md (helm-docs, from README.md.gotmpl).
# Extra arguments go to helm-docs (the unit suite passes --dry-run to detect a stale README;
# tests/unit/test_values_schema_source.py checks the schema).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
if [[ " $* " != *" --dry-run "* ]]; then
  [[ -x "$CACHE/venv/bin/python" ]] || die "no Python venv in $CACHE: run scripts/bootstrap.sh first"
  "$CACHE/venv/bin/python" "$ROOT/scripts/values_schema.py"
fi
exec helm-docs --chart-search-root charts --template-files README.md.gotmpl --sort-values-order file \
  --log-level warning "$@"
