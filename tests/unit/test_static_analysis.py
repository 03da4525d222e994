"""Static analysis with no unexplained finding: kube-score and checkov over every ci/ scenario.

A finding is either fixed in the chart or explained on the object it concerns, by the annotations of the
`emqx-ee.analysisAnnotations` helper: kube-score's `kube-score/ignore: <check>,...` (the reasons are YAML
comments next to it) and checkov's `checkov.io/skipN: <check>=<reason>`. Each explanation is rendered only
while its reason holds, so these tests fail on a new finding, on a checkov skip without a reason, and on an
explanation that no longer explains anything (the same render with the explanations removed must show
exactly the explained findings).

kube-score counts CRITICAL and WARNING grades. checkov starts slowly, so it runs once per session over every
render written to one directory: the scenarios, each again with its skips stripped, and a variant that
breaks a property. Every scenario is rendered under its own release name (`emqx-ee-01`, ...), because
checkov matches NetworkPolicies to Pods across all files it reads, without regard to namespaces.

The analysers come from scripts/build-analysis-tools.sh: kube-score at KUBE_SCORE_VERSION
(scripts/versions.env), checkov at the pin of tests/requirements-analysis.txt in a venv of its own.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.helm import Background, Manifests, in_parallel, prefetch, render
from harness.scenarios import Scenario, scenarios
from harness.tools import ROOT, cache_dir, tool, versions
from harness.tools import helm as helm_cli

pytestmark = pytest.mark.unit

KUBERNETES_MINOR = ".".join(versions()["KUBERNETES_VERSION"].split(".")[:2])
KUBE_SCORE_GRADES = {1: "CRITICAL", 5: "WARNING"}
CHECKOV_SKIP = "checkov.io/skip"
KUBE_SCORE_IGNORE = "kube-score/ignore"
# containerSecurityContext without readOnlyRootFilesystem (null removes a default key).
WRITABLE_ROOT = {"containerSecurityContext": {"readOnlyRootFilesystem": None}}


@dataclass(frozen=True)
class Finding:
    """One analyser finding: where (scenario or variant), which object, which check, what it said."""

    where: str
    obj: str
    check: str
    message: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.obj}: {self.check} {self.message}".rstrip()


def _analyser(name: str, version: str) -> str:
    """The cached analyser, failing loudly when missing or not at the pinned version."""
    stamp = cache_dir() / "bin" / f"{name}.version"
    found = stamp.read_text().strip() if stamp.exists() else "nothing"
    if not found.split("+")[0] == version:
        pytest.fail(f"{name} {version} is not installed ({stamp}: {found}): run scripts/build-analysis-tools.sh")
    return tool(name)


def _checkov_pin() -> str:
    lines = (ROOT / "tests" / "requirements-analysis.txt").read_text().splitlines()
    return next((line.split("==", 1)[1].strip() for line in lines if line.startswith("checkov==")), "unpinned")


def _scenario_render(scenario: Scenario) -> Manifests:
    """Scenario NN rendered by Helm 4 as release emqx-ee-NN (once per session)."""
    return render(helm_cli(4), scenario.values, release=f"emqx-ee-{scenario.name.split('-')[0]}")


@pytest.fixture(scope="session")
def scenario_renders() -> None:
    """Every scenario rendered under its own release name, two at a time, before the first test reads one."""
    prefetch(partial(_scenario_render, s) for s in scenarios())


def _plain(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rendered (read-only) manifests as plain data for _yaml()."""
    return json.loads(json.dumps(list(docs)))


def _yaml(docs: list[dict[str, Any]]) -> str:
    """The documents as YAML, written by libyaml (PyYAML's Python emitter took seconds over the session)."""
    return yaml.dump_all(docs, Dumper=yaml.CSafeDumper)


def _describe(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _annotations(doc: dict[str, Any]) -> dict[str, str]:
    return doc.get("metadata", {}).get("annotations") or {}


def _strip_checkov_skips(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = _plain(docs)
    for doc in out:
        for key in [k for k in _annotations(doc) if k.startswith(CHECKOV_SKIP)]:
            del doc["metadata"]["annotations"][key]
    return out


# --- kube-score --------------------------------------------------------------------------------------------


def kube_score(where: str, manifests: Manifests, *, honour_ignores: bool = True) -> list[Finding]:
    """kube-score's CRITICAL and WARNING findings on one render (kube-score merges objects of the same
    name across its inputs, so each render is scored on its own)."""
    cmd = [_analyser("kube-score", versions()["KUBE_SCORE_VERSION"]), "score", "-o", "json"]
    cmd += ["--kubernetes-version", KUBERNETES_MINOR, "-"]
    if not honour_ignores:
        cmd.insert(2, "--disable-ignore-checks-annotations")
    proc = subprocess.run(cmd, input=_yaml(_plain(manifests)), capture_output=True, text=True, timeout=60)
    if proc.returncode not in (0, 1) or not proc.stdout.startswith("["):
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}{proc.stdout[:2000]}")
    findings = []
    for obj in json.loads(proc.stdout):
        name = f"{obj['type_meta']['kind']}/{obj['object_meta']['name']}"
        for check in obj["checks"]:
            if check["skipped"] or check["grade"] not in KUBE_SCORE_GRADES:
                continue
            said = "; ".join(
                f"({c['path']}) {c['summary']}" if c.get("path") else c["summary"] for c in check["comments"] or []
            )
            findings.append(Finding(where, name, check["check"]["id"], f"[{KUBE_SCORE_GRADES[check['grade']]}] {said}"))
    return findings


def test_kube_score_finds_nothing_unexplained(scenario, scenario_renders):
    findings = kube_score(scenario.name, _scenario_render(scenario))
    assert not findings, "kube-score findings with no explanation (fix them or explain them in " + (
        "emqx-ee.analysisExplanations):\n" + "\n".join(map(str, findings))
    )


def test_every_kube_score_ignore_is_still_needed(scenario, scenario_renders):
    """Without the annotations kube-score reports exactly what they ignore: no blanket ignores, and removing
    an explanation brings its finding back."""
    manifests = _scenario_render(scenario)
    found = {(f.obj, f.check) for f in kube_score(scenario.name, manifests, honour_ignores=False)}
    ignored = {
        (_describe(doc), check.strip())
        for doc in manifests
        for check in _annotations(doc).get(KUBE_SCORE_IGNORE, "").split(",")
        if check.strip()
    }
    assert ignored, f"{scenario.name}: no kube-score/ignore annotation at all: is the helper still included?"
    assert ignored - found == set(), f"{scenario.name}: ignored, but kube-score finds nothing: {ignored - found}"
    assert found - ignored == set(), f"{scenario.name}: findings with no explanation: {found - ignored}"


@pytest.mark.parametrize(
    "values, obj, check",
    [
        (WRITABLE_ROOT, "StatefulSet/emqx-ee", "container-security-context-readonlyrootfilesystem"),
        (WRITABLE_ROOT, "Pod/emqx-ee-test", "container-security-context-readonlyrootfilesystem"),
        # The test Pod's ephemeral-storage reason was the read-only root filesystem.
        (WRITABLE_ROOT, "Pod/emqx-ee-test", "container-ephemeral-storage-request-and-limit"),
        # Liveness as quick to fail as readiness: the probes reason no longer holds.
        ({"livenessProbe": {"failureThreshold": 1}}, "StatefulSet/emqx-ee", "pod-probes-identical"),
        # No memory limit: the CPU-limit explanation must not hide it.
        ({"resources": {"limits": {"memory": None}}}, "StatefulSet/emqx-ee", "container-resources"),
        ({"networkPolicy": {"enabled": False}}, "StatefulSet/emqx-ee", "pod-networkpolicy"),
        (
            {"podSecurityContext": {"runAsUser": 1001}},
            "StatefulSet/emqx-ee",
            "container-security-context-user-group-id",
        ),
        (
            {
                "license": {"key": "evaluation"},
                "replicants": {"enabled": True, "resources": {"limits": {"memory": None}}},
            },
            "Deployment/emqx-ee-replicant",
            "container-resources",
        ),
    ],
    ids=[
        "writable-root",
        "writable-root-test-pod",
        "test-pod-storage",
        "probes",
        "memory",
        "netpol",
        "uid",
        "replicant",
    ],
)
def test_kube_score_catches_a_broken_property(values, obj, check):
    """A change that breaks a property, or voids the reason of an explanation, is a finding."""
    findings = kube_score(str(values), render(helm_cli(4), values))
    assert (obj, check) in {(f.obj, f.check) for f in findings}, f"{values}: no {check} on {obj}: {findings}"


# --- checkov -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckovRun:
    """checkov's failed and skipped checks by file stem (scenario, `stripped-<scenario>` or a variant)."""

    failed: dict[str, list[Finding]]
    skipped: dict[str, list[Finding]]

    def __repr__(self) -> str:
        return (
            f"CheckovRun({sum(map(len, self.failed.values()))} failed, {sum(map(len, self.skipped.values()))} skipped)"
        )


def _checkov_findings(results: list[dict[str, Any]]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = defaultdict(list)
    for r in results:
        kind, _, name = r["resource"].split(".", 2)
        comment = r["check_result"].get("suppress_comment", "")
        out[Path(r["file_path"]).stem].append(
            Finding(Path(r["file_path"]).stem, f"{kind}/{name}", r["check_id"], comment or r["check_name"])
        )
    return out


def run_checkov() -> CheckovRun:
    """One checkov process over every scenario, every scenario with its skips stripped, and a variant with a
    writable root filesystem."""
    checkov_bin = _analyser("checkov", _checkov_pin())
    files: dict[str, list[dict[str, Any]]] = {}
    in_parallel(partial(_scenario_render, s) for s in scenarios())
    for scenario in scenarios():
        docs = _plain(_scenario_render(scenario))
        files[scenario.name] = docs
        files[f"stripped-{scenario.name}"] = _strip_checkov_skips(docs)
    files["variant-writable-root"] = _plain(render(helm_cli(4), WRITABLE_ROOT, release="emqx-ee-writable"))
    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        workdir = Path(tmp)
        for stem, docs in files.items():
            (workdir / f"{stem}.yaml").write_text(_yaml(docs))
        # --skip-download: no calls to Prisma Cloud (offline, and nothing leaves the machine).
        cmd = [checkov_bin, "--directory", str(workdir), "--framework", "kubernetes", "--output", "json"]
        cmd += ["--compact", "--skip-download"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=workdir)
    if proc.returncode not in (0, 1) or not proc.stdout.lstrip().startswith(("{", "[")):
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    reports = json.loads(proc.stdout)
    report = next(r for r in (reports if isinstance(reports, list) else [reports]) if r["check_type"] == "kubernetes")
    results = report["results"]
    assert report["summary"]["parsing_errors"] == 0, results.get("parsing_errors")
    scanned = {Path(r["file_path"]).stem for key in ("passed_checks", "failed_checks") for r in results[key]}
    assert scanned == set(files), f"checkov did not scan {set(files) - scanned}"
    return CheckovRun(_checkov_findings(results["failed_checks"]), _checkov_findings(results["skipped_checks"]))


# checkov takes seconds to start and to scan: it runs in the background from the start of the session.
CHECKOV = Background(run_checkov)
START_EARLY = [CHECKOV]


@pytest.fixture(scope="session")
def checkov() -> CheckovRun:
    return CHECKOV.result()


def test_checkov_finds_nothing_unexplained(checkov, scenario):
    failed = checkov.failed.get(scenario.name, [])
    assert not failed, "checkov findings with no explanation (fix them or explain them in " + (
        "emqx-ee.analysisExplanations):\n" + "\n".join(map(str, failed))
    )


def test_every_checkov_skip_gives_a_reason_and_is_still_needed(checkov, scenario):
    """Each skip carries its reason, and the render without skips fails exactly the skipped checks."""
    skipped = checkov.skipped.get(scenario.name, [])
    assert skipped, f"{scenario.name}: no checkov skip at all: is the helper still included?"
    unexplained = [str(s) for s in skipped if len(s.message) < 40 or s.message == "No comment provided"]
    assert not unexplained, "checkov skips without a reason:\n" + "\n".join(unexplained)
    without_skips = {(f.obj, f.check) for f in checkov.failed.get(f"stripped-{scenario.name}", [])}
    explained = {(s.obj, s.check) for s in skipped}
    assert explained - without_skips == set(), (
        f"{scenario.name}: skipped, but checkov finds nothing: {explained - without_skips}"
    )
    assert without_skips - explained == set(), (
        f"{scenario.name}: findings with no explanation: {without_skips - explained}"
    )


def test_checkov_catches_a_broken_property(checkov):
    failed = {(f.obj, f.check) for f in checkov.failed.get("variant-writable-root", [])}
    for obj in ("StatefulSet/emqx-ee-writable", "Pod/emqx-ee-writable-test"):
        assert (obj, "CKV_K8S_22") in failed, f"no read-only root filesystem finding (CKV_K8S_22) on {obj}: {failed}"
