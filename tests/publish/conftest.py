"""Fixtures of the publish suite: a throwaway CA and GnuPG key for the session, Helm CLIs with homes of
their own, and the chart packaged by scripts/package.sh. Servers start in the test modules that use them
(module scope) from tests/harness/publish.py, which fails with "run scripts/build-publish-tools.sh" when
caddy or registry is missing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.publish import HelmHome, SigningKey, Tls, must, stop_gpg_agent, throwaway_ca, throwaway_signing_key
from harness.tools import Helm


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return throwaway_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningKey]:
    key = throwaway_signing_key(tmp_path_factory.mktemp("key"))
    yield key
    stop_gpg_agent(key)


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningKey]:
    """A second key nobody signed with: verifying against it must fail."""
    key = throwaway_signing_key(tmp_path_factory.mktemp("other-key"), name="someone else")
    yield key
    stop_gpg_agent(key)


@pytest.fixture
def helm_home(tmp_path: Path) -> Callable[[Helm], HelmHome]:
    """Factory: a Helm CLI whose repositories, cache and registry logins live under this test's tmp_path."""

    def make(helm: Helm) -> HelmHome:
        return HelmHome(helm, tmp_path / f"home-{helm}")

    return make


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory, signing_key: SigningKey, helm4: Helm) -> Callable[..., Path]:
    """Factory: scripts/package.sh of the working tree's chart (signed unless told otherwise) into a fresh
    directory; returns the .tgz path (its .prov sits next to it when signed)."""
    home = HelmHome(helm4, tmp_path_factory.mktemp("package-home"))

    def make(version: str | None = None, signed: bool = True) -> Path:
        out = tmp_path_factory.mktemp("packages")
        args = ["--out", str(out)]
        if version:
            args += ["--version", version]
        if signed:
            args += [
                "--sign",
                signing_key.name,
                "--keyring",
                str(signing_key.secring),
                "--pubring",
                str(signing_key.pubring),
            ]
        return Path(must(home.script("package.sh", *args)).strip())

    return make
