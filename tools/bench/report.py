"""Draw the figures and write the Markdown tables of a results folder from its results.json.

Runs in the benchmark's own venv (matplotlib, tools/bench/requirements.txt); scripts/bench.sh calls it after
every benchmark, and `scripts/bench.sh report DIR` redraws a folder without measuring again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

POLICY_STYLE = {"Parallel": ("tab:blue", "o"), "OrderedReady": ("tab:orange", "s")}


def machine_note(m: dict[str, Any]) -> str:
    t = m["tools"]
    end = f", {m['load_at_end']} at end" if "load_at_end" in m else ""
    return (
        f"{m['cores']} cores ({m['cpu']}), load {m['load_at_start']} at start{end}; Helm {t['helm']} and {t['helm3']}, "
        f"Kubernetes {t['kubernetes']} on kwok {t['kwok']} (etcd {t['etcd']}); {m['chart']} at {m['commit']}; "
        f"{m['date']}"
    )


def duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def footer(fig: Any, lines: list[str]) -> None:
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7.5, color="0.3", va="bottom", ha="left", wrap=True)


def suite_line(suite: dict[str, Any]) -> str:
    helm = ", ".join(f"{k} {v}" for k, v in suite["helm_by_command"].items())
    return (
        f"Render suite (pytest -m unit): {duration(suite['seconds'])}, exit {suite['exit_code']} "
        f"({suite['summary'] or 'no summary'}); {suite['helm_processes']} helm processes ({helm})"
    )


def render_figure(data: dict[str, Any], note: str, path: Path) -> None:
    cases = [c for c in data["cases"] if c["plot"]]
    labels = [c["label"] + (f"\n{c['objects']} objects" if c["objects"] is not None else "") for c in cases]
    medians = [c["median"] * 1000 for c in cases]
    errors = [
        [c["median"] * 1000 - c["min"] * 1000 for c in cases],
        [c["max"] * 1000 - c["median"] * 1000 for c in cases],
    ]
    fig, ax = plt.subplots(figsize=(10, 1.1 * len(cases) + 2.2))
    ax.barh(labels, medians, xerr=errors, capsize=4, color="tab:blue", ecolor="0.2")
    for y, c in enumerate(cases):  # the median, right of its whisker
        ax.text(c["max"] * 1000, y, f"  {c['median'] * 1000:.0f} ms", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("wall time per run (ms): median, whiskers min to max")
    ax.set_xlim(0, max(c["max"] * 1000 for c in cases) * 1.25)
    ax.set_title(f"helm template: median of {data['runs']} interleaved runs (first round not counted)")
    ax.grid(axis="x", alpha=0.3)
    lines = [note]
    if "suite" in data:
        lines.insert(0, suite_line(data["suite"]))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    footer(fig, lines)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def rollout_figure(data: dict[str, Any], note: str, path: Path) -> None:
    others = data["upgrade"] + data["scale"]
    fig, axes = plt.subplots(
        1,
        2 if others else 1,
        figsize=(12 if others else 8, 5.6),
        squeeze=False,
        gridspec_kw={"width_ratios": [3, 2] if others else [1]},
    )
    ax = axes[0][0]
    for policy in ("Parallel", "OrderedReady"):
        points = sorted((e for e in data["install"] if e["policy"] == policy), key=lambda e: e["replicas"])
        if not points:
            continue
        color, marker = POLICY_STYLE[policy]
        xs = [p["replicas"] for p in points]
        ys = [p["median"] for p in points]
        err = [[p["median"] - p["min"] for p in points], [p["max"] - p["median"] for p in points]]
        ax.errorbar(xs, ys, yerr=err, color=color, marker=marker, capsize=4, label=policy)
        below = policy == "Parallel"  # the two lines start at the same point: label one above, one below
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(
                f"{y:.0f} s",
                (x, y),
                textcoords="offset points",
                xytext=(6, -13 if below else 6),
                fontsize=8,
                color=color,
            )
    ax.set_xticks(sorted({e["replicas"] for e in data["install"]}))
    ax.margins(x=0.1)  # room for the value labels right of the last point
    ax.set_xlabel("replicas")
    ax.set_ylabel("seconds from helm install to all pods Ready")
    ax.set_ylim(0, max([e["max"] for e in data["install"]], default=1) * 1.12)  # room for the top label
    ax.set_title("Install: median, whiskers min to max")
    ax.grid(alpha=0.3)
    ax.legend(title="podManagementPolicy")
    if others:
        bx = axes[0][1]
        labels = [f"{e['label']}\n{e['policy']}" for e in others]
        colors = [POLICY_STYLE[e["policy"]][0] for e in others]
        medians = [e["median"] for e in others]
        err = [[e["median"] - e["min"] for e in others], [e["max"] - e["median"] for e in others]]
        bars = bx.bar(range(len(others)), medians, yerr=err, capsize=4, color=colors, ecolor="0.2")
        bx.bar_label(bars, [f"{m:.0f} s" for m in medians], padding=3, fontsize=8)
        bx.set_xticks(range(len(others)), labels, fontsize=8)
        bx.set_ylabel("seconds from helm upgrade to all pods Ready")
        bx.set_title("Rolling upgrade and scale-up")
        bx.grid(axis="y", alpha=0.3)
    fig.suptitle(
        f"Rollout on the local kwok cluster: each pod Ready {data['boot_delay']:g} s after it is bound "
        f"(EMQX boot), minReadySeconds {data['min_ready_seconds']}; runs per point: {data['repeat']}"
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    footer(fig, [note])
    fig.savefig(path, dpi=120)
    plt.close(fig)


# Steps other than tool builds, each in a colour of its own; tool builds are shades of blue, named in the bar.
STEP_COLORS = {
    "cluster up": "tab:orange",
    "demo": "tab:green",
    "lint (ruff)": "tab:purple",
    "unit suite": "tab:red",
    "smoke suite": "tab:brown",
    "publish suite": "tab:pink",
    "tool checks": "0.75",
    "start": "0.85",
    "collection, cluster down": "0.6",
}


def is_build(step: str) -> bool:
    return step.startswith(("build ", "apt ", "install ", "download ")) or step == "python venv"


def setup_figure(data: dict[str, Any], note: str, path: Path) -> None:
    runs = data["runs"]
    names = list(dict.fromkeys(step for r in runs for step in r["steps"]))
    spare = iter(["tab:olive", "tab:cyan", "gold", "teal", "navy", "crimson", "0.4"] * 5)
    colors = {n: STEP_COLORS.get(n) or next(spare) for n in names if not is_build(n)}
    longest = max(r["seconds"] for r in runs) / 60
    fig, ax = plt.subplots(figsize=(12, 1.0 * len(runs) + 3.5))
    labels = [f"{r['command']}\n{r['mode']}" for r in runs]
    for y, r in enumerate(runs):
        left = 0.0
        for i, name in enumerate(n for n in names if n in r["steps"]):
            width = r["steps"][name] / 60
            build = is_build(name)
            color = plt.get_cmap("Blues")(0.45 if i % 2 else 0.7) if build else colors[name]
            ax.barh(y, width, left=left, color=color, edgecolor="white", linewidth=0.5)
            if build and width > longest * 0.04:  # name the tool where there is room
                ax.text(
                    left + width / 2, y, name.removeprefix("build "), ha="center", va="center", fontsize=7, rotation=90
                )
            left += width
        ax.text(left, y, f"  {duration(r['seconds'])}", va="center", fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=plt.get_cmap("Blues")(0.6))]
    legend = ["tool builds (named in the bar)"]
    for name, color in colors.items():
        handles.append(plt.Rectangle((0, 0), 1, 1, color=color))
        legend.append(name)
    ax.set_yticks(range(len(runs)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("minutes")
    ax.set_xlim(0, longest * 1.15)
    ax.set_title("README commands, cold (empty tool, Go and pip caches) and warm, by step")
    ax.legend(handles, legend, fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    footer(fig, [note])
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = ["# Benchmarks", "", f"Measured on {machine_note(m)}.", ""]
    if "render" in results:
        r = results["render"]
        out += [f"## render: `helm template`, median of {r['runs']} interleaved runs (first round not counted)", ""]
        out += ["| command | objects | median | min | max |", "|---|---|---|---|---|"]
        for c in r["cases"]:
            objects = c["objects"] if c["objects"] is not None else ""
            out.append(
                f"| {c['label']} (`{c['command']}`) | {objects} | {duration(c['median'])} | {duration(c['min'])} "
                f"| {duration(c['max'])} |"
            )
        o = r["official_chart"]
        out += ["", f"Official chart: `{o['path']}` of {o['repo']} at `{o['commit']}`."]
        if "suite" in r:
            out += ["", suite_line(r["suite"]) + "."]
        out += ["", "![render](render.png)", ""]
    if "rollout" in results:
        r = results["rollout"]
        out += [
            "## rollout: from the helm call to every pod Ready",
            "",
            f"kwok boot delay {r['boot_delay']:g} s per pod, chart default minReadySeconds {r['min_ready_seconds']}, "
            f"Kubernetes {r['kubernetes_server']}; times from the API (1 s resolution).",
            "",
            "| rollout | replicas | policy | median | min | max | runs |",
            "|---|---|---|---|---|---|---|",
        ]
        for e in r["install"] + r["upgrade"] + r["scale"]:
            replicas = f"{e['start']} to {e['replicas']}" if "start" in e else e["replicas"]
            out.append(
                f"| {e['label']} | {replicas} | {e['policy']} | {duration(e['median'])} | {duration(e['min'])} "
                f"| {duration(e['max'])} | {e['runs']} |"
            )
        out += ["", "![rollout](rollout.png)", ""]
    if "setup" in results and results["setup"]["runs"]:
        runs = results["setup"]["runs"]
        names = list(dict.fromkeys(step for run in runs for step in run["steps"]))
        out += ["## setup: the README commands, by step", ""]
        out += ["| step | " + " | ".join(f"`{x['command']}` {x['mode']}" for x in runs) + " |"]
        out += ["|---|" + "---|" * len(runs)]
        for name in names:
            cells = [duration(x["steps"][name]) if name in x["steps"] else "" for x in runs]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("| **total** | " + " | ".join(f"**{duration(x['seconds'])}**" for x in runs) + " |")
        out += ["", "![setup](setup.png)", ""]
    return "\n".join(out)


def main(folder: Path) -> None:
    results = json.loads((folder / "results.json").read_text())
    note = machine_note(results["machine"])
    written = []
    if "render" in results:
        render_figure(results["render"], note, folder / "render.png")
        written.append(folder / "render.png")
    if (
        "rollout" in results
        and results["rollout"]["install"] + results["rollout"]["upgrade"] + results["rollout"]["scale"]
    ):
        rollout_figure(results["rollout"], note, folder / "rollout.png")
        written.append(folder / "rollout.png")
    if "setup" in results and results["setup"]["runs"]:
        setup_figure(results["setup"], note, folder / "setup.png")
        written.append(folder / "setup.png")
    (folder / "results.md").write_text(markdown(results))
    for path in [folder / "results.md", *written]:
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
