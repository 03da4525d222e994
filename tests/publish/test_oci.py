"""The chart in an OCI registry: the CNCF distribution registry on loopback with TLS from a throwaway CA and
htpasswd (bcrypt) authentication. Helm 4 and Helm 3 log in, push with scripts/publish-oci.sh, show and pull
the chart by version (byte-identical to the package), and verify its provenance; a wrong password and a
push without login are refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import yaml

from harness.publish import OciRegistry

pytestmark = pytest.mark.publish


@pytest.fixture(scope="module")
def registry(tmp_path_factory, tls) -> Iterator[OciRegistry]:
    server = OciRegistry(tls, tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


def login(home, registry: OciRegistry, tls, password: str | None = None):
    return home.run("registry", "login", registry.host, "--username", registry.username, "--password-stdin",
                    "--ca-file", str(tls.ca), stdin=password or registry.password)  # fmt: skip


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_push_show_pull_round_trip(registry, tls, package, signing_key, helm, helm_home, tmp_path):
    # Each Helm CLI publishes its own version, so the two round trips cannot pass on each other's push.
    version = f"0.3.0-oci.helm{helm.major}"
    pkg = package(version)
    home = helm_home(helm)
    credentials = {"REGISTRY_USERNAME": registry.username, "REGISTRY_PASSWORD": registry.password}
    proc = home.script("publish-oci.sh", registry.ref, str(pkg), "--ca-file", str(tls.ca), extra_env=credentials)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == f"{registry.ref}/emqx-ee:{version}"
    assert registry.password not in proc.stdout + proc.stderr, "the password never shows in the output"

    shown = yaml.safe_load(
        home.ok("show", "chart", f"{registry.ref}/emqx-ee", "--version", version, "--ca-file", str(tls.ca))
    )
    assert (shown["name"], shown["version"]) == ("emqx-ee", version)

    dest = tmp_path / "pulled"
    dest.mkdir()
    home.ok(
        "pull", f"{registry.ref}/emqx-ee", "--version", version, "--ca-file", str(tls.ca), "--destination", str(dest)
    )
    pulled = dest / f"emqx-ee-{version}.tgz"
    assert sha256(pulled.read_bytes()) == sha256(pkg.read_bytes()), "the registry returns the package byte for byte"

    # helm push uploads the .prov next to the package as a provenance layer: --verify works over OCI too.
    verified = tmp_path / "verified"
    verified.mkdir()
    out = home.ok("pull", f"{registry.ref}/emqx-ee", "--version", version, "--ca-file", str(tls.ca), "--verify",
                  "--keyring", str(signing_key.pubring), "--destination", str(verified))  # fmt: skip
    assert signing_key.fingerprint in out, out


def test_wrong_password_is_refused(registry, tls, helm, helm_home):
    proc = login(helm_home(helm), registry, tls, password="not-" + registry.password)
    assert proc.returncode != 0, f"{helm} registry login succeeded with a wrong password"
    assert "401" in proc.stderr or "unauthorized" in proc.stderr.lower(), proc.stderr


def test_push_without_login_is_refused(registry, tls, package, helm, helm_home):
    proc = helm_home(helm).run("push", str(package(f"0.3.0-anonymous.helm{helm.major}", signed=False)), registry.ref,
                               "--ca-file", str(tls.ca))  # fmt: skip
    assert proc.returncode != 0, f"{helm} push without credentials was accepted"
    assert "401" in proc.stderr or "unauthorized" in proc.stderr.lower() or "basic credential" in proc.stderr.lower(), (
        proc.stderr
    )


def test_untrusted_certificate_is_refused(registry, helm, helm_home):
    """Without --ca-file the throwaway CA is unknown: TLS is really checked, not skipped."""
    proc = helm_home(helm).run("show", "chart", f"{registry.ref}/emqx-ee", "--version", "0.3.0-oci.helm4")
    assert proc.returncode != 0
    assert "certificate" in proc.stderr.lower(), proc.stderr
