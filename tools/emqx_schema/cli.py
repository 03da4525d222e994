"""The command line: generate the data file of one EMQX commit."""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from typing import Any

from .interpreter import Interp
from .preprocessor import Repo
from .tree import CHART_ROOTS, TreeBuilder, count_paths, reachable


def generate(repo_dir: str, commit: str, ref: str, version: str) -> tuple[dict, TreeBuilder]:
    repo = Repo(repo_dir, commit)
    try:
        builder = TreeBuilder(Interp(repo))
        roots, schema = builder.build()
    finally:
        repo.close()
    data = {
        "emqx_version": version,
        "source": {"repository": "emqx/emqx", "ref": ref, "commit": commit},
        "generator": "tools/emqx_schema",
        "roots": roots,
        "schema": schema,
        "structs": {k: v for k, v in builder.structs.items() if v is not None and v["kind"] == "struct"},
    }
    return data, builder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="EMQX git directory (bare is fine)")
    ap.add_argument("--commit", required=True, help="40-hex commit to read")
    ap.add_argument("--ref", required=True, help="tag or branch name the commit belongs to (recorded only)")
    ap.add_argument("--version", required=True, help="EMQX version, e.g. 6.2.2 (recorded only)")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--verbose", action="store_true", help="list every `any` node")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"[0-9a-f]{40}", args.commit):
        ap.error("--commit must be 40 lowercase hex digits")

    result: dict[str, Any] = {}

    def run() -> None:
        result["value"] = generate(args.repo, args.commit, args.ref, args.version)

    sys.setrecursionlimit(200000)
    threading.stack_size(512 * 1024 * 1024)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "value" not in result:
        return 1
    data, builder = result["value"]
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
    structs, fields = data["structs"], data["schema"]["fields"]
    chart = {r for r in CHART_ROOTS if r in fields}
    chart_structs = reachable(structs, [fields[r] for r in chart])
    chart_anys = [a for a in builder.anys if a[0].split(".")[0] in chart | chart_structs]
    print(f"roots found: {len(data['roots'])}")
    print(f"paths total: {count_paths(structs, data['schema'])} (structs: {len(structs)})")
    print(f"any nodes: {len(builder.anys)} ({len(chart_anys)} in chart-relevant roots)")
    for path, why in builder.anys if args.verbose else chart_anys:
        print(f"  any {path}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
