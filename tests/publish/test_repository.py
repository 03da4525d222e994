"""A chart repository served like production (static files over HTTPS, here Caddy on loopback with a
throwaway CA): the index built by scripts/repo-index.sh keeps every published version, Helm 4 and Helm 3
add the repository, list every version and pull the new one with --verify; an unsigned package, a stale
index and a merge that would drop or change a published version are each caught."""

from __future__ import annotations

import shutil
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.publish import ChartRepositoryServer, must
from harness.tools import CHART

pytestmark = pytest.mark.publish

PUBLISHED = ("0.1.0", "0.2.0", "0.3.0")  # what the "production" index already lists
NEW = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]  # this release


def index_entries(index: Path) -> dict[str, str]:
    """version -> digest of the emqx-ee entries of an index.yaml."""
    return {e["version"]: e["digest"] for e in yaml.safe_load(index.read_text())["entries"]["emqx-ee"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory, tls) -> Iterator[ChartRepositoryServer]:
    """Caddy serving one directory; each test publishes into a subdirectory of its own."""
    root = tmp_path_factory.mktemp("site")
    server = ChartRepositoryServer(root, tls, tmp_path_factory.mktemp("caddy"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def published(tmp_path_factory, package, helm4) -> Path:
    """The index.yaml production serves before this release: PUBLISHED, signed."""
    from harness.publish import HelmHome

    home = HelmHome(helm4, tmp_path_factory.mktemp("published-home"))
    old = tmp_path_factory.mktemp("published")
    for version in PUBLISHED:
        pkg = package(version)
        shutil.copy(pkg, old)
        shutil.copy(pkg.with_name(pkg.name + ".prov"), old)
    must(home.script("repo-index.sh", str(old), "https://charts.example.invalid/emqx-ee"))
    return old


def publish(site: ChartRepositoryServer, name: str, packages: list[Path], merge: Path | None, helm4, tmp_path) -> Path:
    """Copy packages (and provenance files) into site/NAME and index them with scripts/repo-index.sh."""
    from harness.publish import HelmHome

    target = site.root / name
    target.mkdir()
    for pkg in packages:
        shutil.copy(pkg, target)
        prov = pkg.with_name(pkg.name + ".prov")
        if prov.exists():
            shutil.copy(prov, target)
    args = [str(target), f"{site.url}/{name}"] + (["--merge", str(merge)] if merge else [])
    must(HelmHome(helm4, tmp_path / "publish-home").script("repo-index.sh", *args))
    return target


@pytest.fixture(scope="module")
def release_repo(site, published, package, helm4, tmp_path_factory) -> Path:
    """This release (NEW, signed) merged into the published index and the old packages, served by Caddy."""
    pkgs = [package(NEW)] + sorted(published.glob("*.tgz"))
    return publish(site, "stable", pkgs, published / "index.yaml", helm4, tmp_path_factory.mktemp("stable"))


def add_repo(home, site: ChartRepositoryServer, name: str, tls) -> None:
    home.ok("repo", "add", name, f"{site.url}/{name}", "--ca-file", str(tls.ca))


def test_index_merge_keeps_every_published_version_and_digest(release_repo, published):
    merged, before = index_entries(release_repo / "index.yaml"), index_entries(published / "index.yaml")
    assert set(merged) == {*PUBLISHED, NEW}, f"merged index lists {sorted(merged)}"
    assert {v: merged[v] for v in PUBLISHED} == before, "a published version changed its digest in the merge"


def test_search_lists_every_version(release_repo, site, tls, helm, helm_home):
    home = helm_home(helm)
    add_repo(home, site, "stable", tls)
    found = yaml.safe_load(home.ok("search", "repo", "stable/emqx-ee", "--versions", "-o", "yaml"))
    assert {r["version"] for r in found} == {*PUBLISHED, NEW}, f"{helm} search repo --versions: {found}"


def test_pull_verify_from_the_repository(release_repo, site, tls, signing_key, helm, helm_home, tmp_path):
    home = helm_home(helm)
    add_repo(home, site, "stable", tls)
    dest = tmp_path / "pulled"
    dest.mkdir()
    out = home.ok("pull", "stable/emqx-ee", "--version", NEW, "--verify", "--keyring", str(signing_key.pubring),
                  "--destination", str(dest))  # fmt: skip
    assert signing_key.fingerprint in out, out
    assert index_entries(release_repo / "index.yaml")[NEW] == must_sha256(dest / f"emqx-ee-{NEW}.tgz")


def must_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pull_verify_refuses_an_unsigned_package(site, package, helm4, tls, signing_key, helm, helm_home, tmp_path):
    name = f"unsigned-{helm.major}"
    publish(site, name, [package(NEW, signed=False)], None, helm4, tmp_path)
    home = helm_home(helm)
    add_repo(home, site, name, tls)
    (tmp_path / "pulled").mkdir()
    proc = home.run("pull", f"{name}/emqx-ee", "--version", NEW, "--verify", "--keyring", str(signing_key.pubring),
                    "--destination", str(tmp_path / "pulled"))  # fmt: skip
    assert proc.returncode != 0, f"{helm} pull --verify accepted a package without provenance"
    assert ".prov" in proc.stderr or "provenance" in proc.stderr.lower() or "404" in proc.stderr, proc.stderr


def test_stale_index_is_detected(site, published, package, helm4, tls, helm_home, tmp_path):
    """A new package uploaded without regenerating index.yaml: --check names it, users cannot see it."""
    stale = publish(site, "stale", sorted(published.glob("*.tgz")), published / "index.yaml", helm4, tmp_path)
    new = package(NEW)
    shutil.copy(new, stale)
    shutil.copy(new.with_name(new.name + ".prov"), stale)
    home = helm_home(helm4)
    proc = home.script("repo-index.sh", "--check", str(stale))
    assert proc.returncode != 0 and f"emqx-ee {NEW}" in proc.stderr, proc.stderr
    add_repo(home, site, "stale", tls)
    found = {
        r["version"] for r in yaml.safe_load(home.ok("search", "repo", "stale/emqx-ee", "--versions", "-o", "yaml"))
    }
    assert NEW not in found, "helm cannot see a version the index does not list"

    must(home.script("repo-index.sh", str(stale), f"{site.url}/stale", "--merge", str(stale / "index.yaml")))
    must(home.script("repo-index.sh", "--check", str(stale)))
    home.ok("repo", "update", "stale")
    found = {
        r["version"] for r in yaml.safe_load(home.ok("search", "repo", "stale/emqx-ee", "--versions", "-o", "yaml"))
    }
    assert found == {*PUBLISHED, NEW}


def test_merge_refuses_to_change_a_published_version(published, package, helm4, helm_home, tmp_path):
    """Republishing 0.2.0 with other content would silently replace it: the script refuses and leaves the index."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(package(NEW), repo)
    must(
        helm_home(helm4).script(
            "repo-index.sh", str(repo), "https://x.invalid", "--merge", str(published / "index.yaml")
        )
    )
    before = (repo / "index.yaml").read_text()
    # Helm packages are reproducible: the same chart gives the same bytes. Other content under 0.2.0:
    chart = shutil.copytree(CHART, tmp_path / "chart" / "emqx-ee")
    (chart / "templates" / "NOTES.txt").write_text((chart / "templates" / "NOTES.txt").read_text() + "\nchanged\n")
    out = tmp_path / "rebuilt"
    rebuilt = Path(
        must(
            helm_home(helm4).script("package.sh", "--chart", str(chart), "--version", "0.2.0", "--out", str(out))
        ).strip()
    )
    assert must_sha256(rebuilt) != index_entries(published / "index.yaml")["0.2.0"]
    shutil.copy(rebuilt, repo)
    proc = helm_home(helm4).script(
        "repo-index.sh", str(repo), "https://x.invalid", "--merge", str(published / "index.yaml")
    )
    assert proc.returncode != 0 and "emqx-ee 0.2.0" in proc.stderr, proc.stderr
    assert (repo / "index.yaml").read_text() == before, "a refused merge leaves index.yaml as it was"


def test_artifacthub_metadata_is_served_next_to_the_index(release_repo, site, tls):
    context = ssl.create_default_context(cafile=str(tls.ca))
    with urllib.request.urlopen(f"{site.url}/stable/artifacthub-repo.yml", context=context) as resp:
        served = yaml.safe_load(resp.read())
    assert served == yaml.safe_load((Path(__file__).parents[2] / "artifacthub-repo.yml").read_text())
