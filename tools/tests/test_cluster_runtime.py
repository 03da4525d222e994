"""scripts/cluster.sh picks its runtime (kind where a Docker engine answers, kwok otherwise, CLUSTER_RUNTIME over
both), and its kind path prepares kind and kubectl but none of the kwok-only tools, and loads the images of the
chart's pods into the kind nodes.

No Docker, no cluster and no build: cluster.sh runs with a scratch state directory (EMQX_EE_STATE), a scratch tool
cache (EMQX_EE_CACHE) that links the real cached tools bootstrap.sh checks (so its warm run finds them) but not the
cluster tools, and stand-ins first on PATH: `docker` (answers `docker info` or fails, pulls, inspects and saves
images by name), `kind` (records its arguments, writes the kubeconfig it is asked for), `go` (records its arguments
and leaves a placeholder where a build would put a binary) and, where a test wants one, `kubectl`. The real cache
and the shared cluster (.work/) are never touched."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.tools import CHART, ROOT, cache_dir, versions

pytestmark = pytest.mark.unit

CLUSTER_SH = ROOT / "scripts" / "cluster.sh"
KUBERNETES = versions()["KUBERNETES_VERSION"]
KIND = versions()["KIND_VERSION"]
# What only the kwok runtime runs (kind brings its own control plane in its node containers): the binary and
# the Go package it is built from.
KWOK_ONLY = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "etcd": "go.etcd.io/etcd",
    "kwok": "sigs.k8s.io/kwok",
    "kwokctl": "sigs.k8s.io/kwok",
    "coredns": "github.com/coredns/coredns",
    # The real node's (scripts/build-node-tools.sh).
    "runc": "github.com/opencontainers/runc",
    "containerd": "github.com/containerd/containerd/v2/cmd/containerd",
    "ctr": "github.com/containerd/containerd/v2/cmd/ctr",
    "containerd-shim-runc-v2": "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
    "kubelet": "k8s.io/kubernetes/cmd/kubelet",
    "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
}
# Cluster tools left out of the scratch cache, so that preparing them shows.
LEFT_OUT = {*KWOK_ONLY, "kubectl", "kind"}
# What only the tests use (scripts/bootstrap.sh without --demo): the binary and a part of its Go package.
TEST_ONLY = {
    "helm3": "helm.sh/helm/v3",
    "helm-batch": "helm-batch",
    "helm3-batch": "helm-batch",
    "ct": "chart-testing",
    "helm-docs": "helm-docs",
    "netpol-truth": "netpol",
    "caddy": "caddy",
    "registry": "distribution",
    "kube-score": "kube-score",
    "actionlint": "actionlint",
}

DOCKER = """#!/usr/bin/env bash
# Stand-in Docker CLI: `docker info` answers (an engine is there) or fails, as the test says; it records its other
# calls, holds the images it pulled (or that docker.images lists), and saves one to the file it is asked for.
[[ $1 == info ]] && exit {status}
echo "$*" >>"$STANDIN_CALLS/docker"
image=${{@: -1}}
case "$1 $2" in
  "pull "*) echo "$2" >>"$STANDIN_CALLS/docker.images" ;;
  "image inspect")
    grep -qxF "$image" "$STANDIN_CALLS/docker.images" 2>/dev/null || exit 1
    case $4 in
      "{{{{.Id}}}}") echo "sha256:id-of-$image" ;;
      "{{{{.Os}}}}/{{{{.Architecture}}}}") echo linux/amd64 ;;
    esac ;;
  "image save") while [[ $# -gt 0 ]]; do [[ $1 == --output ]] && echo "saved $image" >"$2"; shift; done ;;
  *) exit 1 ;;
esac
"""

KIND_STAND_IN = f"""#!/usr/bin/env bash
# Stand-in kind {KIND}: records its arguments, remembers the clusters it created, writes their kubeconfig.
echo "$*" >>"$STANDIN_CALLS/kind"
case $1 in
  version) echo "kind {KIND} go1.26.8 linux/amd64" ;;
  get)
    if [[ $2 == clusters ]]; then cat "$STANDIN_CALLS/kind.clusters" 2>/dev/null || true
    else echo "kind: Config"; fi ;;
  load) [[ -f ${{@: -1}} ]] || {{ echo "kind load: no archive ${{@: -1}}" >&2; exit 1; }} ;;
  create)
    while [[ $# -gt 0 ]]; do
      case $1 in
        --name) echo "$2" >>"$STANDIN_CALLS/kind.clusters" ;;
        --kubeconfig) echo "kind: Config" >"$2" ;;
      esac
      shift
    done ;;
esac
"""

GO_STAND_IN = """#!/usr/bin/env bash
# Stand-in go: records its arguments; answers `go mod download -json` with the test's go.mod for
# k8s.io/kubernetes; `go mod download MODULE@VERSION` fills a module cache of its own; for
# `go build -o DIR/ PKG...`, leaves a placeholder binary per command in DIR.
echo "$*" >>"$STANDIN_CALLS/go"
modcache=$STANDIN_CALLS/gomodcache
if [[ "$1 $2" == "env GOMODCACHE" ]]; then echo "$modcache"; fi
if [[ "$1 $2 $3" == "mod download -json" ]]; then echo "{\\"GoMod\\": \\"$STANDIN_GOMOD\\"}"
elif [[ "$1 $2" == "mod download" ]]; then mkdir -p "$modcache/$3"; fi
if [[ $1 == build ]]; then
  out=
  while [[ $# -gt 0 ]]; do
    [[ $1 == -o ]] && { out=$2; shift; }
    [[ $1 == */cmd/* ]] && printf '#!/bin/sh\\n' >"$out/${1##*/}" && chmod +x "$out/${1##*/}"
    shift
  done
fi
exit 0
"""

# The two lines of k8s.io/kubernetes' go.mod the wrapper module is made from: its go version, and a
# staging module replaced by a local path.
KUBERNETES_GOMOD = "module k8s.io/kubernetes\n\ngo 1.26.0\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n)\n"


def kubectl_stand_in(version: str) -> str:
    """A kubectl on PATH that reports `version` to `kubectl version --client -o json`."""
    return f'#!/bin/sh\nprintf \'{{\\n  "clientVersion": {{\\n    "gitVersion": "{version}",\\n  }}\\n}}\\n\'\n'


class Scratch:
    """Scratch state, cache and stand-ins for one run of scripts/cluster.sh."""

    def __init__(self, tmp_path: Path, leave_out: frozenset[str] = frozenset()) -> None:
        self.leave_out = LEFT_OUT | leave_out
        self.state = tmp_path / "state"
        self.cache = tmp_path / "cache"
        self.calls = tmp_path / "calls"
        self.standins = tmp_path / "standins"
        for d in (self.calls, self.standins):
            d.mkdir()
        gomod = tmp_path / "kubernetes.go.mod"
        gomod.write_text(KUBERNETES_GOMOD)
        self._link_real_tools()
        self.standin("kind", KIND_STAND_IN)
        self.standin("go", GO_STAND_IN)
        self.docker(answers=True)
        real_bin = str(cache_dir() / "bin")
        path = [self.standins, *(p for p in os.environ["PATH"].split(os.pathsep) if p != real_bin)]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EMQX_EE_", "CLUSTER_", "KUBECONFIG"))},
            "EMQX_EE_STATE": str(self.state),
            "EMQX_EE_CACHE": str(self.cache),
            "PATH": os.pathsep.join(map(str, path)),
            "STANDIN_CALLS": str(self.calls),
            "STANDIN_GOMOD": str(gomod),
        }

    def _link_real_tools(self) -> None:
        """The real cached tools bootstrap.sh checks, as links plus copies of their stamps: its warm run
        finds them all. Only files are created here; links are replaced, never written through."""
        real = cache_dir()
        tools = sorted(p for p in (real / "bin").iterdir() if p.suffix != ".version" and p.name not in self.leave_out)
        venv_python, checkov = real / "venv" / "bin" / "python", real / "venv-checkov" / "bin" / "checkov"
        stamps = [tool.with_name(f"{tool.name}.version") for tool in tools]
        missing = [str(p) for p in (*tools, *stamps, venv_python, checkov) if not p.exists()]
        if not tools or missing:
            pytest.fail(f"the tool cache {real} is incomplete ({missing or 'empty'}): run scripts/bootstrap.sh")
        (self.cache / "bin").mkdir(parents=True)
        for tool in tools:
            (self.cache / "bin" / tool.name).symlink_to(tool)
            shutil.copy(tool.with_name(f"{tool.name}.version"), self.cache / "bin")
        # Directories of their own holding links (a venv that bootstrap.sh found stale is recreated with
        # --clear: that must hit the scratch directory, not the real venv).
        for link, target in ((Path("venv/bin/python"), venv_python), (Path("venv-checkov/bin/checkov"), checkov)):
            (self.cache / link).parent.mkdir(parents=True)
            (self.cache / link).symlink_to(target)
        # The stamp bootstrap.sh wants for tests/requirements.txt (the real venv's may be stale): nothing to install.
        want = hashlib.sha256((ROOT / "tests" / "requirements.txt").read_bytes()).hexdigest()[:16]
        (self.cache / "venv" / ".requirements").write_text(want + "\n")

    def standin(self, name: str, script: str) -> None:
        path = self.standins / name
        path.write_text(script)
        path.chmod(0o755)

    def docker(self, answers: bool) -> None:
        self.standin("docker", DOCKER.format(status=0 if answers else 1))

    def cluster_sh(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(CLUSTER_SH), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def recorded(self, tool: str) -> list[str]:
        path = self.calls / tool
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    return Scratch(tmp_path)


def plain(text: str) -> str:
    """Terminal output without the bold on/off escapes of log()."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def cluster_env(scratch: Scratch) -> dict[str, str]:
    lines = (scratch.state / "cluster.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize(
    "docker_answers, override, chosen",
    [(True, "", "kind"), (False, "", "kwok"), (True, "kwok", "kwok"), (False, "kind", "kind")],
    ids=["docker-kind", "no-docker-kwok", "override-kwok", "override-kind"],
)
def test_runtime_is_kind_with_docker_kwok_without_and_the_override_wins(scratch, docker_answers, override, chosen):
    scratch.docker(answers=docker_answers)
    proc = scratch.cluster_sh("runtime", CLUSTER_RUNTIME=override)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == chosen, f"docker answers={docker_answers}, CLUSTER_RUNTIME={override!r}"


def test_runtime_of_a_cluster_already_set_up_is_kept(scratch):
    # Docker answering later must not switch a kwok cluster's `down` to kind.
    scratch.state.mkdir()
    (scratch.state / "cluster.env").write_text("CLUSTER_RUNTIME=kwok\n")
    assert scratch.cluster_sh("runtime").stdout.strip() == "kwok"


def test_unknown_runtime_is_refused(scratch):
    proc = scratch.cluster_sh("up", CLUSTER_RUNTIME="minikube")
    assert proc.returncode != 0
    assert "unknown cluster runtime 'minikube'" in proc.stderr and "want kind or kwok" in proc.stderr
    assert not scratch.recorded("kind") and not scratch.recorded("go"), "nothing may start for a bad runtime"


def assert_kind_cluster_created(scratch: Scratch, proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kubeconfig = scratch.state / "kubeconfig"
    assert cluster_env(scratch) == {"CLUSTER_RUNTIME": "kind", "KUBECONFIG": str(kubeconfig), "DNS_SERVER": ""}
    create = f"create cluster --name emqx-ee --config {ROOT}/scripts/cluster/kind.yaml --kubeconfig {kubeconfig}"
    assert any(call.startswith(create) for call in scratch.recorded("kind")), scratch.recorded("kind")
    assert kubeconfig.read_text().strip() == "kind: Config"


def assert_no_kwok_tools(scratch: Scratch, proc: subprocess.CompletedProcess) -> None:
    prepared = [t for t in KWOK_ONLY if (scratch.cache / "bin" / t).exists()]
    assert not prepared, f"the kind path prepared kwok-only tools {prepared}"
    built = [call for call in scratch.recorded("go") if any(pkg in call for pkg in KWOK_ONLY.values())]
    assert not built, f"the kind path asked go for kwok-only tools: {built}"


def test_kind_path_reuses_a_matching_kubectl_and_kind_from_path(scratch):
    scratch.standin("kubectl", kubectl_stand_in(KUBERNETES))
    proc = scratch.cluster_sh("up")
    assert_kind_cluster_created(scratch, proc)
    bin_ = scratch.cache / "bin"
    for tool, version in (("kubectl", KUBERNETES), ("kind", KIND)):
        assert (bin_ / tool).resolve() == scratch.standins / tool, f"{tool} on PATH at {version} was not reused"
        assert (bin_ / f"{tool}.version").read_text().strip() == version
        assert f"{tool} {version}: reusing {scratch.standins / tool}" in proc.stderr
    assert not [c for c in scratch.recorded("go") if "k8s.io/kubernetes" in c or "sigs.k8s.io/kind" in c]
    assert_no_kwok_tools(scratch, proc)

    # A second `up` finds everything: one line per tool, the cluster is not created again, nothing is fetched.
    go_calls = len(scratch.recorded("go"))
    again = scratch.cluster_sh("up")
    assert again.returncode == 0, again.stderr
    assert "kind cluster emqx-ee already running" in again.stderr
    assert sum(call.startswith("create") for call in scratch.recorded("kind")) == 1
    assert " ... " not in again.stderr, f"a warm run ran a build or download step:\n{again.stderr}"
    assert [c.split()[0] for c in scratch.recorded("go")[go_calls:]] == ["env", "env"], "only module cache checks"


def test_kind_path_builds_kubectl_when_path_has_another_version(scratch):
    # A kubectl of another version is on PATH (it shadows any other): it must not be taken.
    scratch.standin("kubectl", kubectl_stand_in("v1.30.0"))
    proc = scratch.cluster_sh("up")
    assert_kind_cluster_created(scratch, proc)
    calls = scratch.recorded("go")
    kubectl_pkg = "k8s.io/kubernetes/cmd/kubectl"
    assert f"get {kubectl_pkg}@{KUBERNETES}" in calls, calls
    (build,) = [c for c in calls if c.startswith("build ")]
    assert f"-X k8s.io/component-base/version.gitVersion={KUBERNETES}" in build, build
    assert build.endswith(f"-o {scratch.cache}/bin/ {kubectl_pkg}"), f"kubectl alone, into the cache: {build}"
    assert (scratch.cache / "bin" / "kubectl.version").read_text().strip() == KUBERNETES
    assert not (scratch.cache / "bin" / "kubectl").is_symlink(), "the mismatching kubectl was linked"
    wrapper = (scratch.cache / "src" / f"kubernetes-{KUBERNETES}" / "go.mod").read_text()
    assert f"k8s.io/api => k8s.io/api v0.{KUBERNETES.removeprefix('v1.')}" in wrapper, wrapper
    progress = [line for line in plain(proc.stderr).splitlines() if line.startswith("==> kubectl")]
    want = rf"==> kubectl {KUBERNETES}: building from k8s\.io/kubernetes through a wrapper module \.\.\. done in \d+ s"
    assert len(progress) == 1 and re.fullmatch(want, progress[0]), proc.stderr
    assert_no_kwok_tools(scratch, proc)


def chart_images() -> list[str]:
    """The images of the chart's pods with its default values, from Chart.yaml and values.yaml."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    emqx = f"{values['image']['repository']}:{values['image']['tag'] or chart['appVersion']}"
    test = f"{values['tests']['image']['repository']}:{values['tests']['image']['tag']}"
    return sorted({emqx, test})


def test_kind_path_loads_the_chart_images_into_every_node(scratch):
    """`up` on kind pulls each image of the chart's pods that the Docker engine lacks, saves it for the engine's
    platform and loads the archive into the kind nodes; a second `up` loads nothing again."""
    scratch.standin("kubectl", kubectl_stand_in(KUBERNETES))
    emqx, test = sorted(chart_images(), key=lambda i: "emqx" not in i)
    (scratch.calls / "docker.images").write_text(f"{emqx}\n")  # the engine has EMQX's image already
    proc = scratch.cluster_sh("up")
    assert_kind_cluster_created(scratch, proc)
    docker = scratch.recorded("docker")
    assert [c for c in docker if c.startswith("pull")] == [f"pull {test}"], docker
    loads = [c for c in scratch.recorded("kind") if c.startswith("load")]
    for image in (emqx, test):
        archive = scratch.state / "images" / (re.sub(r"[/:@]", "_", image) + ".tar")
        assert f"image save --platform linux/amd64 --output {archive} {image}" in docker, docker
        assert f"load image-archive --name emqx-ee {archive}" in loads, loads
        assert not archive.exists(), "the archive goes once it is loaded"
        assert (scratch.state / "images" / f"{archive.name}.loaded").read_text().strip() == f"sha256:id-of-{image}"
    assert len(loads) == 2, loads

    again = scratch.cluster_sh("up")
    assert again.returncode == 0, again.stderr
    assert [c for c in scratch.recorded("kind") if c.startswith("load")] == loads, "loaded again"
    assert not [c for c in scratch.recorded("docker")[len(docker) :] if c.startswith(("pull", "image save"))]
    for image in (emqx, test):
        assert f"{image} already in every node of emqx-ee" in plain(again.stderr), again.stderr


def test_kind_path_stops_when_an_image_cannot_be_loaded(scratch):
    """A failed load is not a cluster without its images: `up` stops, naming the image, and writes no
    cluster.env for the tests."""
    scratch.standin("kubectl", kubectl_stand_in(KUBERNETES))
    scratch.standin("kind", KIND_STAND_IN.replace("  load) ", "  load) exit 1; "))
    proc = scratch.cluster_sh("up")
    assert proc.returncode != 0
    assert f"loading {chart_images()[0]} into kind failed" in plain(proc.stderr), proc.stderr
    assert not (scratch.state / "cluster.env").exists()


def test_the_demo_path_prepares_none_of_the_test_tools(tmp_path):
    """cluster.sh up (which scripts/demo.sh runs) builds the venv, helm and the cluster's tools, nothing that
    only the tests use: a scratch cache without them stays without them, and go is asked for none."""
    scratch = Scratch(tmp_path, frozenset(TEST_ONLY))
    scratch.standin("kubectl", kubectl_stand_in(KUBERNETES))
    proc = scratch.cluster_sh("up")
    assert_kind_cluster_created(scratch, proc)
    prepared = [t for t in TEST_ONLY if (scratch.cache / "bin" / t).exists()]
    assert not prepared, f"the demo path prepared test-only tools {prepared}"
    asked = [c for c in scratch.recorded("go") if any(pkg in c for pkg in TEST_ONLY.values())]
    assert not asked, f"the demo path asked go for test-only tools: {asked}"
    assert (scratch.cache / "bin" / "helm").exists() and "helm " in plain(proc.stderr)
