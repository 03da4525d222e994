"""The users' CI in .github/workflows/ cannot run here (no GitHub, no Docker engine for kind), so actionlint (built by
scripts/build-actionlint.sh) checks it, with shellcheck over every `run:` block, and these tests check what it does:
it runs the project's own scripts, its kind matrix stays within Chart.yaml's `kubeVersion`, the smoke suite's day-2
tests run on kind against real EMQX, and only the release job may write. A broken copy of the workflow proves that
actionlint really objects."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.helm import HelmError, render
from harness.tools import CHART, ROOT, tool, versions

pytestmark = pytest.mark.unit

WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yaml"
RELEASE = WORKFLOWS / "release.yaml"
NODE_IMAGE = re.compile(r"^kindest/node:v(?P<version>1\.(?P<minor>\d+)\.\d+)@sha256:[0-9a-f]{64}$")


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yaml"), *WORKFLOWS.glob("*.yml")])


def load(path: Path) -> dict[str, Any]:
    """A workflow as data. YAML 1.1 reads the key `on` as True: give it its name back."""
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def run_blocks(job: dict[str, Any]) -> str:
    """Every `run:` script of a job, one after the other."""
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def steps_using(path: Path, action: str) -> list[dict[str, Any]]:
    return [
        step
        for job in jobs(path).values()
        for step in job.get("steps", [])
        if step.get("uses", "").split("@")[0] == action
    ]


def shellcheck() -> str:
    found = shutil.which("shellcheck")
    if not found:
        pytest.fail(
            "shellcheck not found on PATH: actionlint checks every `run:` block with it "
            "(scripts/bootstrap.sh installs Debian's package; or `apt-get install shellcheck`)"
        )
    return found


def actionlint(project: Path) -> subprocess.CompletedProcess:
    """actionlint over the workflows of `project` (a directory with .git, so that local reusable workflows
    resolve), shellcheck on, pyflakes off (no Python `run:` blocks; on would depend on the machine)."""
    files = [str(p.relative_to(project)) for p in sorted((project / ".github" / "workflows").glob("*.y*ml"))]
    return subprocess.run(
        [tool("actionlint"), "-no-color", "-oneline", f"-shellcheck={shellcheck()}", "-pyflakes=", *files],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflows_pass_actionlint_and_shellcheck():
    assert {CI, RELEASE} <= set(workflow_files()), "expected .github/workflows/ci.yaml and release.yaml"
    proc = actionlint(ROOT)
    assert proc.returncode == 0, f"actionlint found problems in .github/workflows:\n{proc.stdout}{proc.stderr}"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The workflows copied into a scratch project (an empty .git marks its root for actionlint)."""
    (tmp_path / ".git").mkdir()
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")
    return tmp_path


def test_an_unchanged_copy_passes_actionlint(copy):
    # The control for the mutations below: the scratch project itself is not what fails.
    proc = actionlint(copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# (what breaks, text of ci.yaml, its replacement, what actionlint must say)
MUTATIONS = [
    ("undefined-needs", "needs: lint", "needs: lnit", 'needs job "lnit" which does not exist'),
    ("unknown-matrix-key", "matrix.node-image }}", "matrix.node-imag }}", 'property "node-imag" is not defined'),
    (
        "broken-expression",
        "${{ github.event_name == 'pull_request' }}",
        "${{ github.event_name == }}",
        "unexpected end of input",
    ),
    ("unknown-action-input", "fetch-depth: 0", "fetch-dept: 0", 'input "fetch-dept" is not defined'),
    ("unknown-runner", "runs-on: ubuntu-24.04", "runs-on: ubuntu-2404", 'label "ubuntu-2404" is unknown'),
    ("unquoted-shell-variable", '-f "$values"', "-f $values", "SC2086"),
    ("not-reusable", "  workflow_call:\n", "", '"workflow_call" event trigger is not found'),
]


@pytest.mark.parametrize("old, new, message", [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_actionlint_refuses_a_broken_copy(copy, old, new, message):
    broken = copy / ".github" / "workflows" / "ci.yaml"
    text = broken.read_text()
    assert old in text, f"ci.yaml no longer contains {old!r}: update this mutation"
    broken.write_text(text.replace(old, new, 1))
    proc = actionlint(copy)
    assert proc.returncode == 1, f"actionlint accepted ci.yaml with {old!r} -> {new!r}:\n{proc.stdout}{proc.stderr}"
    assert message in proc.stdout, f"actionlint failed, but not with {message!r}:\n{proc.stdout}{proc.stderr}"


# What each job must run: the project's own scripts and commands, not a re-implementation of them.
COMMANDS = {
    (CI, "lint"): [
        "scripts/bootstrap.sh",
        "ruff check --config tests/ruff.toml tests scripts",
        "ruff format --check",
        "helm lint --strict charts/emqx-ee",
        "ct lint --config ct.yaml",
        "ct lint --config scripts/ct/version-increment.yaml --target-branch",
    ],
    (CI, "render"): ["scripts/bootstrap.sh", "pytest -m unit", "pytest -m publish"],
    (CI, "e2e"): [
        "scripts/bootstrap.sh",
        "scripts/cluster.sh up",
        "scripts/ct-install.sh",
        "helm install",
        "helm upgrade",
        "helm test",
        "pytest -m day2",
    ],
    (RELEASE, "publish"): [
        "scripts/bootstrap.sh",
        "scripts/package.sh --sign",
        "scripts/repo-index.sh",
        "--merge",
        "scripts/publish-oci.sh",
        "git push origin gh-pages",
    ],
}


@pytest.mark.parametrize("workflow, job", list(COMMANDS), ids=[f"{w.stem}.{j}" for w, j in COMMANDS])
def test_jobs_run_the_project_commands(workflow, job):
    script = run_blocks(jobs(workflow)[job])
    missing = [command for command in COMMANDS[(workflow, job)] if command not in script]
    assert not missing, f"{workflow.name} job {job} does not run {missing}"


def test_ct_install_is_chart_testing_with_the_project_config():
    # The e2e job calls scripts/ct-install.sh, which is `ct install` with ct.yaml minus the render-only scenarios.
    script = (ROOT / "scripts" / "ct-install.sh").read_text()
    assert re.search(r"^[^#\n]*\bct install --config ct\.yaml\b", script, re.M), "scripts/ct-install.sh: no ct install"
    assert "# smoke: no" in script, "scripts/ct-install.sh no longer leaves out the render-only scenarios"


def test_every_file_the_workflows_name_exists():
    for path in workflow_files():
        text = path.read_text()
        named = set(re.findall(r"(?<![\w$./-])((?:scripts|charts|tests)/[\w./*-]*[\w*]|ct\.yaml)", text))
        assert named, f"{path.name} names no project files"
        for name in sorted(named):
            matches = list(ROOT.glob(name)) if "*" in name else [ROOT / name] if (ROOT / name).exists() else []
            assert matches, f"{path.name} names {name}, which does not exist"
            if name.endswith(".sh"):
                assert (ROOT / name).stat().st_mode & 0o111, f"{path.name} runs {name}, which is not executable"


def test_kind_matrix_pins_the_newest_minors_within_kube_version(helm):
    matrix = jobs(CI)["e2e"]["strategy"]["matrix"]["include"]
    versions_ = []
    for entry in matrix:
        m = NODE_IMAGE.match(entry["node-image"])
        assert m, f"ci.yaml e2e: {entry['node-image']} is not a kindest/node image pinned by tag and digest"
        assert f"v{m['version']}" == entry["kubernetes"], f"ci.yaml e2e: {entry} names another version"
        versions_.append(m["version"])
    minors = sorted(int(v.split(".")[1]) for v in versions_)
    assert len(minors) >= 3, f"ci.yaml e2e tests {len(minors)} Kubernetes minors, want the newest 3 or more"
    assert minors == list(range(minors[0], minors[0] + len(minors))), f"ci.yaml e2e skips a minor: {minors}"
    pinned = int(versions()["KUBERNETES_VERSION"].split(".")[1])
    assert minors[-1] >= pinned, f"ci.yaml e2e stops at 1.{minors[-1]}, scripts/versions.env pins 1.{pinned}"
    # Helm itself judges Chart.yaml's kubeVersion constraint (`helm template --kube-version`).
    kube_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    for version in versions_:
        try:
            render(helm, kube_version=version)
        except HelmError as err:
            pytest.fail(f"ci.yaml e2e tests Kubernetes {version}, outside kubeVersion {kube_version!r}: {err.stderr}")
    with pytest.raises(HelmError) as refused:
        render(helm, kube_version="1.26.15")
    # The control: a minor below the range is refused for that reason, so the loop above can fail.
    assert "incompatible with Kubernetes v1.26.15" in refused.value.stderr, refused.value.stderr


def test_kind_is_the_version_the_project_pins():
    assert "KIND_VERSION" in versions()
    e2e = jobs(CI)["e2e"]
    assert "grep '^KIND_VERSION=' scripts/versions.env" in run_blocks(e2e)
    (kind,) = steps_using(CI, "helm/kind-action")
    assert kind["with"]["version"] == "${{ steps.tools.outputs.KIND_VERSION }}"
    assert kind["with"]["node_image"] == "${{ matrix.node-image }}"
    assert kind["with"]["config"] == "scripts/cluster/kind.yaml"
    assert kind["with"]["kubectl_version"] == "${{ matrix.kubernetes }}"


# The day-2 smoke modules the users' CI must run on kind (marked `day2`): the guards, the upgrades, rollback,
# each revision's config, helm test with --logs, and EMQX's own config check in its hook.
DAY2 = {
    "test_config_check.py",
    "test_upgrade_guards.py",
    "test_upgrade_values.py",
    "test_upgrade_notes.py",
    "test_upgrade_from_release.py",
    "test_rollback.py",
    "test_revision_config.py",
    "test_helm_test.py",
}


def marked_day2() -> set[str]:
    """The smoke modules whose pytestmark holds day2 (every one of them also smoke)."""
    found = set()
    for path in sorted((ROOT / "tests" / "smoke").glob("test_*.py")):
        mark = re.search(r"^pytestmark = (.*)$", path.read_text(), re.M)
        if mark and "pytest.mark.day2" in mark.group(1):
            assert "pytest.mark.smoke" in mark.group(1), f"{path.name} is day2 but not smoke"
            found.add(path.name)
    return found


def test_the_day2_smoke_tests_run_on_kind_against_real_emqx():
    """On the matrix entry of the local cluster's Kubernetes minor, the e2e job adopts the kind cluster with
    scripts/cluster.sh up (which writes the cluster.env the smoke suite reads and loads the chart's images),
    then runs `pytest -m day2` with a missing cluster made a failure; the marker covers the day-2 modules."""
    e2e = jobs(CI)["e2e"]
    smoke = [entry for entry in e2e["strategy"]["matrix"]["include"] if entry.get("smoke")]
    assert len(smoke) == 1, f"ci.yaml e2e: {len(smoke)} matrix entries run the smoke tests, want one"
    pinned_minor = versions()["KUBERNETES_VERSION"].split(".")[1]
    assert smoke[0]["kubernetes"].split(".")[1] == pinned_minor, f"{smoke[0]} is not KUBERNETES_VERSION's minor"
    names = [step.get("name", step.get("uses", "")) for step in e2e["steps"]]
    steps = e2e["steps"]
    (kind,) = [i for i, step in enumerate(steps) if step.get("uses", "").startswith("helm/kind-action@")]
    (adopt,) = [i for i, step in enumerate(steps) if step.get("run", "").strip() == "scripts/cluster.sh up"]
    (ct,) = [i for i, step in enumerate(steps) if "scripts/ct-install.sh" in step.get("run", "")]
    (day2,) = [i for i, step in enumerate(steps) if step.get("run", "").startswith("pytest -m day2")]
    assert kind < adopt < ct < day2, f"ci.yaml e2e runs its steps in another order: {names}"
    assert steps[adopt]["env"] == {"CLUSTER_RUNTIME": "kind"}, steps[adopt]
    assert steps[day2]["if"] == "matrix.smoke", steps[day2]
    assert steps[day2]["env"] == {"EMQX_EE_REQUIRE_CLUSTER": "1"}, steps[day2]
    assert "day2:" in (ROOT / "tox.ini").read_text(), "the day2 marker is not registered (--strict-markers)"
    assert marked_day2() == DAY2, f"day2 modules: {sorted(marked_day2())}, want {sorted(DAY2)}"
    calls = (ROOT / "tests" / "smoke" / "test_helm_test.py").read_text()
    assert ".test(logs=True)" in calls, "no day-2 test runs `helm test --logs`"


def test_job_permissions_are_minimal():
    for path in workflow_files():
        workflow = load(path)
        assert workflow.get("permissions") == {"contents": "read"}, f"{path.name}: default permissions not read-only"
        assert "pull_request_target" not in workflow["on"], f"{path.name}: pull_request_target runs forks with secrets"
        for name, job in workflow["jobs"].items():
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{path.name} job {name}: no explicit permissions map"
            writes = {scope for scope, level in permissions.items() if level == "write"}
            if (path, name) == (RELEASE, "publish"):
                assert writes == {"contents", "packages"}, f"release publish writes {writes}"
            else:
                assert not writes, f"{path.name} job {name} writes {writes}: only the release job may"
            assert set(permissions.values()) <= {"read", "write", "none"}, f"{path.name} job {name}: {permissions}"


def test_release_publishes_only_version_tags_after_ci():
    workflow = load(RELEASE)
    assert workflow["on"] == {"push": {"tags": ["v*"]}}, f"release.yaml runs on {workflow['on']}"
    assert workflow["jobs"]["ci"]["uses"] == "./.github/workflows/ci.yaml"
    assert workflow["jobs"]["publish"]["needs"] == "ci", "release.yaml publishes without the CI passing"
    assert "workflow_call" in load(CI)["on"], "ci.yaml cannot be called by release.yaml"
    script = run_blocks(workflow["jobs"]["publish"])
    assert 'if [[ $TAG != "v$version" ]]' in script, "release.yaml does not check the tag against Chart.yaml"


def test_actions_are_referenced_by_version_tag_or_commit():
    for path in workflow_files():
        for job_name, job in jobs(path).items():
            refs = [step["uses"] for step in job.get("steps", []) if "uses" in step]
            refs += [job["uses"]] if "uses" in job else []
            for ref in refs:
                if ref.startswith("./"):
                    continue
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})", ref), (
                    f"{path.name} job {job_name}: {ref} is not pinned to a version tag or a commit SHA"
                )


def test_tool_cache_is_keyed_on_the_pins():
    caches = steps_using(CI, "actions/cache") + steps_using(RELEASE, "actions/cache/restore")
    assert len(caches) == 4, f"expected a tool cache in lint, render, e2e and publish, found {len(caches)}"
    for step in caches:
        key, paths = step["with"]["key"], step["with"]["path"]
        for pinned in ("scripts/versions.env", "tests/requirements*.txt"):
            assert pinned in key, f"tool cache key {key} ignores {pinned}"
        assert "steps.python.outputs.python-version" in key, "the venv in the cache is tied to its Python"
        for cached in ("~/.cache/emqx-ee", "~/go/pkg/mod", "~/.cache/go-build"):
            assert cached in paths, f"tool cache does not keep {cached}"
