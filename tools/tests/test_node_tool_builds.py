"""scripts/build-node-tools.sh builds the real node's tools the way each needs: runc with cgo and its seccomp tag,
containerd without the btrfs and devmapper snapshotters, the CNI plugins into their own directory (not on PATH,
where `bridge` and `loopback` would shadow iproute2's), and the kubelet and kube-proxy in the control plane's
k8s.io/kubernetes wrapper module with its version ldflags. A second run builds nothing; without root it builds
nothing and says why in one line.

Stand-ins first on PATH: `go` records its arguments and environment and leaves placeholder binaries; `dpkg-query`
reports every Debian package installed, so apt never runs; `id` says root where the test needs the root path.
Everything goes to a scratch tool cache."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from harness.tools import ROOT, versions

pytestmark = pytest.mark.unit

SCRIPT = ROOT / "scripts" / "build-node-tools.sh"
V = versions()

GO = """#!/usr/bin/env bash
echo "CGO_ENABLED=$CGO_ENABLED GOFLAGS=$GOFLAGS GOBIN=$GOBIN | $*" >>"$GO_CALLS"
case "$1 $2 $3" in
  "mod download -json") echo "{\\"GoMod\\": \\"$STANDIN_GOMOD\\"}"; exit 0 ;;
esac
case $1 in
  install)
    for arg in "$@"; do
      [[ $arg == *@* ]] || continue
      pkg=${arg%@*}; printf '#!/bin/sh\\n' >"$GOBIN/${pkg##*/}" && chmod +x "$GOBIN/${pkg##*/}"
    done ;;
  build)
    out=
    while [[ $# -gt 0 ]]; do
      [[ $1 == -o ]] && { out=$2; shift; }
      [[ $1 == */cmd/* ]] && printf '#!/bin/sh\\n' >"$out/${1##*/}" && chmod +x "$out/${1##*/}"
      shift
    done ;;
esac
exit 0
"""
DPKG_QUERY = "#!/bin/sh\nprintf 'install ok installed'\n"
# `id -u` as root, wherever the test runs: the script only asks, and nothing here needs root.
ID_ROOT = "#!/bin/sh\necho 0\n"
GOMOD = "module k8s.io/kubernetes\n\ngo 1.26.0\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n)\n"


class Scratch:
    def __init__(self, tmp_path: Path, as_root: bool = False) -> None:
        self.cache, self.calls = tmp_path / "cache", tmp_path / "go.calls"
        standins = tmp_path / "standins"
        standins.mkdir()
        for name, text in (("go", GO), ("dpkg-query", DPKG_QUERY), *((("id", ID_ROOT),) if as_root else ())):
            (standins / name).write_text(text)
            (standins / name).chmod(0o755)
        gomod = tmp_path / "kubernetes.go.mod"
        gomod.write_text(GOMOD)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EMQX_EE_", "GOFLAGS", "CGO_"))},
            "EMQX_EE_CACHE": str(self.cache),
            "PATH": f"{standins}:{os.environ['PATH']}",
            "GO_CALLS": str(self.calls),
            "STANDIN_GOMOD": str(gomod),
        }

    def run(self, *prefix: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, "bash", str(SCRIPT)], env=self.env, capture_output=True, text=True, timeout=120)

    def go_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def call_for(calls: list[str], package: str) -> str:
    (call,) = [c for c in calls if c.split(" | ", 1)[1].startswith(("install", "build")) and package in c]
    return call


def test_each_tool_is_built_the_way_it_needs_and_a_second_run_builds_nothing(tmp_path):
    scratch = Scratch(tmp_path, as_root=True)
    proc = scratch.run()
    out = plain(proc.stderr)
    assert proc.returncode == 0, out
    calls = scratch.go_calls()
    bin_, cni = scratch.cache / "bin", scratch.cache / "cni" / "bin"

    runc = call_for(calls, f"github.com/opencontainers/runc@{V['RUNC_VERSION']}")
    assert runc.startswith("CGO_ENABLED=1 GOFLAGS=-tags=seccomp "), runc
    assert f"-X main.version={V['RUNC_VERSION'][1:]}" in runc
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        call = call_for(calls, f"containerd/v2/cmd/{name}@{V['CONTAINERD_VERSION']}")
        assert call.startswith("CGO_ENABLED=0 GOFLAGS=-tags=no_btrfs,no_devmapper "), call
        assert (bin_ / f"{name}.version").read_text().strip() == V["CONTAINERD_VERSION"]

    (plugins,) = [c for c in calls if "containernetworking/plugins" in c]
    assert f"GOBIN={cni} " in plugins, plugins
    for plugin in ("main/bridge", "main/loopback", "ipam/host-local", "meta/portmap"):
        assert f"plugins/{plugin}@{V['CNI_PLUGINS_VERSION']}" in plugins
        assert os.access(cni / plugin.split("/")[1], os.X_OK)
        assert not (bin_ / plugin.split("/")[1]).exists(), f"{plugin} must stay off PATH"
    assert (cni / ".version").read_text().strip() == V["CNI_PLUGINS_VERSION"]

    kube = call_for(calls, "k8s.io/kubernetes/cmd/kubelet")
    assert kube.endswith(f"-o {bin_}/ k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy"), kube
    assert f"version.gitVersion={V['KUBERNETES_VERSION']}" in kube
    wrapper = scratch.cache / "src" / f"kubernetes-{V['KUBERNETES_VERSION']}" / "go.mod"
    assert "k8s.io/api => k8s.io/api v0." in wrapper.read_text(), "the control plane's wrapper module"

    for name in ("runc", "containerd", "ctr", "containerd-shim-runc-v2", "kubelet", "kube-proxy"):
        assert os.access(bin_ / name, os.X_OK), name
    progress = [line for line in out.splitlines() if " ... " in line]
    assert len(progress) == 6, out  # runc, three containerd binaries, the CNI plugins, kubelet + kube-proxy

    again = scratch.run()
    assert again.returncode == 0, again.stderr
    assert len(scratch.go_calls()) == len(calls), "a warm run must not call go to build"
    assert " ... " not in plain(again.stderr), again.stderr


def test_without_root_nothing_is_built_and_one_line_says_why(tmp_path):
    scratch = Scratch(tmp_path)
    # As root: a user namespace without a mapping for root, where the script runs as the overflow uid.
    proc = scratch.run("unshare", "--user") if os.geteuid() == 0 else scratch.run()
    lines = plain(proc.stderr).strip().splitlines()
    assert proc.returncode == 0, proc.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("==> real node: not built (containerd and the kubelet run as root"), lines
    assert not scratch.go_calls()
