"""The real node's images are reproducible from their inputs (scripts/node-image.sh, scripts/oci_image.py): the
same root filesystem packs to the same digest however its files were made, a changed file changes it, and
the pause image built twice from Kubernetes' pause.c in two empty caches is the same tarball, byte for byte.
The tarball is an OCI image layout whose index names the image the way containerd's importer reads it."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness.tools import ROOT

pytestmark = pytest.mark.unit

NODE_IMAGE = ROOT / "scripts" / "node-image.sh"
REF = "docker.io/emqx-ee-local/probe:1"


def oci_image():
    spec = importlib.util.spec_from_file_location("oci_image", ROOT / "scripts" / "oci_image.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(root: Path, order: list[str], mtime: int) -> Path:
    """A small root filesystem whose files are created in `order` and stamped `mtime`."""
    files = {
        "bin/tool": ("#!/bin/sh\necho tool\n", 0o755),
        "etc/config": ("key = value\n", 0o644),
        "usr/share/doc/readme": ("docs\n", 0o644),
    }
    for name in order:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[name][0])
        path.chmod(files[name][1])
    (root / "bin" / "tool-link").symlink_to("tool")
    (root / "dev").mkdir()
    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return root


def members(tarball: Path) -> dict[str, bytes]:
    with tarfile.open(tarball) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_the_same_tree_packs_to_the_same_digest_and_a_changed_file_to_another(tmp_path):
    pack = oci_image().pack
    one = tree(tmp_path / "one", ["bin/tool", "etc/config", "usr/share/doc/readme"], mtime=1_000_000)
    two = tree(tmp_path / "two", ["usr/share/doc/readme", "etc/config", "bin/tool"], mtime=2_000_000)
    first = pack(one, tmp_path / "one.tar", REF, ["/bin/tool"], [])
    second = pack(two, tmp_path / "two.tar", REF, ["/bin/tool"], [])
    assert first == second
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()
    (two / "etc" / "config").write_text("key = other\n")
    assert pack(two, tmp_path / "three.tar", REF, ["/bin/tool"], []) != first
    assert pack(one, tmp_path / "four.tar", REF, ["/bin/other"], []) != first, "the config is part of the digest"


def test_the_tarball_is_an_oci_layout_containerd_imports_by_name(tmp_path):
    digest = oci_image().pack(
        tree(tmp_path / "root", ["bin/tool", "etc/config", "usr/share/doc/readme"], 0),
        tmp_path / "image.tar",
        REF,
        ["/bin/tool"],
        [],
    )
    blobs = members(tmp_path / "image.tar")
    assert json.loads(blobs["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    for name, data in blobs.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1], f"{name} is not its content's digest"
    (entry,) = json.loads(blobs["index.json"])["manifests"]
    assert entry["digest"] == digest
    assert entry["annotations"]["io.containerd.image.name"] == REF
    manifest = json.loads(blobs[f"blobs/sha256/{digest[7:]}"])
    config = json.loads(blobs["blobs/sha256/" + manifest["config"]["digest"][7:]])
    (layer,) = manifest["layers"]
    raw = gzip.decompress(blobs["blobs/sha256/" + layer["digest"][7:]])
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(raw).hexdigest()]
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    layer_path = tmp_path / "layer.tar"
    layer_path.write_bytes(raw)
    with tarfile.open(layer_path) as tar:
        names = tar.getnames()
        assert {m.mtime for m in tar.getmembers()} == {0}
        assert {(m.uname, m.gname) for m in tar.getmembers()} == {("", "")}
        assert tar.getmember("bin/tool-link").issym() and tar.getmember("bin/tool").mode == 0o755
    assert names == sorted(names, key=lambda n: n.split("/")), "entries in sorted order"
    assert "dev" in names and not [n for n in names if n.startswith("dev/")], "the runtime owns /dev"


def node_image(cache: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("EMQX_EE_")}, "EMQX_EE_CACHE": str(cache)}
    return subprocess.run([str(NODE_IMAGE), *args], env=env, capture_output=True, text=True, timeout=300)


def test_the_pause_image_rebuilds_identically_from_its_inputs(tmp_path):
    """Two empty caches, one build each: the same tarball (and so the same digest); a third run is cached."""
    built = []
    for cache in (tmp_path / "a", tmp_path / "b"):
        proc = node_image(cache, "pause")
        assert proc.returncode == 0, proc.stderr
        assert re.search(r"image docker\.io/emqx-ee-local/pause:\S+: building from its inputs .* done in", proc.stderr)
        built.append(Path(proc.stdout.strip()))
    assert built[0].name == built[1].name, "the cache key is a hash of the inputs"
    assert built[0].read_bytes() == built[1].read_bytes()
    digest = node_image(tmp_path / "a", "digest", "pause").stdout.strip()
    assert digest == node_image(tmp_path / "b", "digest", "pause").stdout.strip()
    assert digest.startswith("sha256:")
    again = node_image(tmp_path / "a", "pause")
    assert again.returncode == 0 and "cached" in again.stderr and "building" not in again.stderr, again.stderr


def standin_inputs() -> list[str]:
    text = NODE_IMAGE.read_text()
    listed = re.search(r"STANDIN_FILES=\(([^)]*)\)", text)
    assert listed, "node-image.sh lists no STANDIN_FILES"
    return listed.group(1).split()


def test_the_standin_image_tag_hashes_every_file_it_holds():
    """The stand-in's tag is the hash of its inputs: every repository file build_standin copies into the
    image, and every file of scripts/node/emqx_standin, is one of STANDIN_FILES (hashed by `key standin`)."""
    inputs = standin_inputs()
    body = re.search(r"build_standin\(\) \{(.*?)\n\}", NODE_IMAGE.read_text(), re.S).group(1)
    copied = {f"scripts/node/emqx_standin/{m}" for m in re.findall(r'"\$s"?/([^" ]+)', body)}
    copied |= set(re.findall(r'"\$ROOT/([^"]+)"', body)) - {"scripts/oci_image.py"}
    expanded = {str(p.relative_to(ROOT)) for pattern in copied for p in ROOT.glob(pattern) if p.is_file()}
    assert "scripts/node/emqx_standin/emqx.py" in expanded and "tests/harness/emqx_config.py" in expanded
    assert expanded and expanded <= set(inputs), f"copied into the image but not hashed: {expanded - set(inputs)}"
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "scripts" / "node" / "emqx_standin").rglob("*") if p.is_file()}
    assert shipped <= set(inputs), f"stand-in files outside the image's hash: {shipped - set(inputs)}"


def test_the_standin_tag_changes_with_an_input(tmp_path):
    """`ref standin` is docker.io/emqx-ee-local/emqx-standin:<16 hex>, and a changed input gives another tag."""
    copy = tmp_path / "repo"
    for rel in [
        "scripts/node-image.sh",
        "scripts/lib.sh",
        "scripts/versions.env",
        "scripts/oci_image.py",
        *standin_inputs(),
    ]:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes((ROOT / rel).read_bytes())
    (copy / "scripts" / "node-image.sh").chmod(0o755)

    def ref() -> str:
        return subprocess.run(
            [str(copy / "scripts" / "node-image.sh"), "ref", "standin"], capture_output=True, text=True, check=True
        ).stdout.strip()

    before = ref()
    assert re.fullmatch(r"docker\.io/emqx-ee-local/emqx-standin:[0-9a-f]{16}", before), before
    for rel in standin_inputs():
        original = (copy / rel).read_bytes()
        (copy / rel).write_bytes(original + b"\n")
        assert ref() != before, f"changing {rel} left the tag {before}"
        (copy / rel).write_bytes(original)
    assert ref() == before
