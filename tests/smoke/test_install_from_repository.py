"""Installing the published chart onto the local cluster, as users do: from the chart repository Caddy
serves over HTTPS (`helm repo add`, `helm install repo/emqx-ee --verify`) and from the OCI registry
(`helm registry login`, `helm install oci://...`), with Helm 4 and Helm 3; the StatefulSet becomes Ready.
Needs the publish tools (scripts/build-publish-tools.sh) besides the cluster."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.publish import (
    ChartRepositoryServer,
    HelmHome,
    OciRegistry,
    SigningKey,
    Tls,
    must,
    stop_gpg_agent,
    throwaway_ca,
    throwaway_signing_key,
)
from harness.statefulset import wait_ready
from harness.tools import helm as helm_cli

pytestmark = pytest.mark.smoke

# The root conftest runs each test under Helm 4 and Helm 3 (`helm`); packages are made with Helm 4.
HELM4 = helm_cli(4)


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    return throwaway_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory) -> Iterator[SigningKey]:
    key = throwaway_signing_key(tmp_path_factory.mktemp("key"))
    yield key
    stop_gpg_agent(key)


@pytest.fixture(scope="module")
def signed_package(tmp_path_factory, signing_key) -> Path:
    home = HelmHome(HELM4, tmp_path_factory.mktemp("package-home"))
    out = tmp_path_factory.mktemp("packages")
    args = ["--sign", signing_key.name, "--keyring", str(signing_key.secring), "--out", str(out)]
    return Path(must(home.script("package.sh", *args)).strip())


@pytest.fixture(scope="module")
def repository(tmp_path_factory, tls, signed_package) -> Iterator[ChartRepositoryServer]:
    root = tmp_path_factory.mktemp("site")
    server = ChartRepositoryServer(root, tls, tmp_path_factory.mktemp("caddy"))
    target = root / "charts"
    target.mkdir()
    shutil.copy(signed_package, target)
    shutil.copy(signed_package.with_name(signed_package.name + ".prov"), target)
    must(
        HelmHome(HELM4, tmp_path_factory.mktemp("index-home")).script(
            "repo-index.sh", str(target), f"{server.url}/charts"
        )
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, tls, signed_package) -> Iterator[OciRegistry]:
    server = OciRegistry(tls, tmp_path_factory.mktemp("registry"))
    home = HelmHome(HELM4, tmp_path_factory.mktemp("push-home"))
    credentials = {"REGISTRY_USERNAME": server.username, "REGISTRY_PASSWORD": server.password}
    must(
        home.script("publish-oci.sh", server.ref, str(signed_package), "--ca-file", str(tls.ca), extra_env=credentials)
    )
    yield server
    server.stop()


def chart_version(package: Path) -> str:
    return package.name.removeprefix("emqx-ee-").removesuffix(".tgz")


def test_install_from_the_chart_repository(
    cluster, helm, repository, tls, signing_key, signed_package, kubectl, namespace, tmp_path
):
    home = HelmHome(helm, tmp_path / "home")
    # Helm 4.3.1 fetches the .prov file of `install --verify` without the repository's TLS settings
    # (pkg/downloader/chart_downloader.go, DownloadToCache calls Get without c.Options), so it trusts only
    # the system roots; SSL_CERT_FILE makes the throwaway CA one of them. Helm 3 uses the repository's CA.
    home.env["SSL_CERT_FILE"] = str(tls.ca)
    home.ok("repo", "add", "emqx-ee-repo", f"{repository.url}/charts", "--ca-file", str(tls.ca))
    home.ok(
        "install", "emqx-ee", "emqx-ee-repo/emqx-ee", "--version", chart_version(signed_package),
        "--verify", "--keyring", str(signing_key.pubring),
        "--kubeconfig", cluster.kubeconfig, "--namespace", namespace,
    )  # fmt: skip
    wait_ready(kubectl, namespace, 1)
    release = kubectl.get("statefulset", namespace, "emqx-ee")["metadata"]["labels"]
    assert release.get("helm.sh/chart") == f"emqx-ee-{chart_version(signed_package)}", release


def test_install_from_the_oci_registry(cluster, helm, registry, tls, signed_package, kubectl, namespace, tmp_path):
    home = HelmHome(helm, tmp_path / "home")
    home.ok("registry", "login", registry.host, "--username", registry.username, "--password-stdin",
            "--ca-file", str(tls.ca), stdin=registry.password)  # fmt: skip
    home.ok(
        "install", "emqx-ee", f"{registry.ref}/emqx-ee", "--version", chart_version(signed_package),
        "--ca-file", str(tls.ca), "--kubeconfig", cluster.kubeconfig, "--namespace", namespace,
    )  # fmt: skip
    wait_ready(kubectl, namespace, 1)
