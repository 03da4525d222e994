"""The real node's images are reproducible from their inputs (scripts/node-image.sh, scripts/oci_image.py): the
same root filesystem packs to the same digest however its files were made, a changed file changes it, and
an image enters the cache only after a second build from the same inputs gave the same tarball, byte for
byte (a build that differs from itself is refused, naming both digests and what differs). The pause image
is built here for real, in empty scratch caches; the Debian-based images, whose builds take a minute, are
checked where they are built, and tests/smoke/test_real_node.py shows that the images the node runs are
cached ones with that record. The tarball is an OCI image layout whose index names the image the way
containerd's importer reads it."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness.real_node import oci_image
from harness.tools import ROOT

pytestmark = pytest.mark.unit

NODE_IMAGE = ROOT / "scripts" / "node-image.sh"
REF = "docker.io/emqx-ee-local/probe:1"


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
    """An empty cache: the build runs twice and caches the tarball with the record of its second build; the
    next run finds it cached, and `verify` builds it a third time to the same bytes, leaving the cache as it was."""
    cache = tmp_path / "cache"
    proc = node_image(cache, "pause")
    assert proc.returncode == 0, proc.stderr
    assert re.search(
        r"image docker\.io/emqx-ee-local/pause:\S+: building from its inputs, twice .* done in", proc.stderr
    )
    built = Path(proc.stdout.strip())
    first = built.read_bytes()
    digest = node_image(cache, "digest", "pause").stdout.strip()
    assert digest.startswith("sha256:")
    assert node_image(cache, "rebuilt", "pause").stdout.strip() == digest, "the second build's record"
    again = node_image(cache, "pause")
    assert again.returncode == 0 and "cached" in again.stderr and "building" not in again.stderr, again.stderr
    verified = node_image(cache, "verify", "pause")
    assert verified.returncode == 0, verified.stderr
    assert "rebuilding from its inputs to compare" in verified.stderr
    assert built.read_bytes() == first, "verify leaves the cached tarball as it was"
    assert sorted(p.name for p in (cache / "images").iterdir()) == [built.name, built.name + ".rebuilt"], "scratch left"


def repo_copy(dest: Path, extra: list[str]) -> Path:
    """The scripts node-image.sh runs with, and `extra` files, copied to a scratch repository."""
    for rel in ["scripts/node-image.sh", "scripts/lib.sh", "scripts/versions.env", "scripts/oci_image.py", *extra]:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes((ROOT / rel).read_bytes())
    (dest / "scripts" / "node-image.sh").chmod(0o755)
    return dest / "scripts" / "node-image.sh"


def run_copy(script: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("EMQX_EE_")}, "EMQX_EE_CACHE": str(cache)}
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=300)


def test_a_build_that_differs_from_itself_is_refused_and_not_cached(tmp_path):
    """The negative control: a pause build that writes the time into its image gives two different tarballs
    from the same inputs; the build fails naming both digests and the entry that differs, and caches nothing."""
    script = repo_copy(tmp_path / "repo", [])
    text = script.read_text()
    build = 'mkdir -p "$1" && gcc'
    assert build in text, "build_pause changed: update this negative control"
    script.write_text(text.replace(build, 'mkdir -p "$1" && date +%s%N >"$1/built-at" && gcc', 1))
    proc = run_copy(script, tmp_path / "cache", "pause")
    assert proc.returncode != 0, proc.stderr
    assert re.search(
        r"image pause is not reproducible: two builds from the same inputs gave sha256:\w+ and sha256:\w+", proc.stderr
    ), proc.stderr
    assert "0:built-at: " in proc.stderr, f"the log names the entry that differs: {proc.stderr}"
    assert not list((tmp_path / "cache" / "images").iterdir()), "nothing enters the cache"


def test_verify_refuses_a_cached_image_that_its_inputs_do_not_rebuild(tmp_path):
    """A cached tarball that its inputs do not give (replaced here by an image of another file) fails `verify`,
    naming the cached and the rebuilt digests and the entries that differ."""
    cache = tmp_path / "cache"
    built = Path(node_image(cache, "pause").stdout.strip())
    rebuilt = node_image(cache, "digest", "pause").stdout.strip()
    root = tmp_path / "other"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "pause").write_text("not the pause binary\n")
    other = oci_image().pack(root, tmp_path / "other.tar", "docker.io/emqx-ee-local/pause:x", ["/pause"], [])
    built.write_bytes((tmp_path / "other.tar").read_bytes())
    proc = node_image(cache, "verify", "pause")
    assert proc.returncode != 0, proc.stderr
    assert f"gave {other} and {rebuilt}" in proc.stderr, proc.stderr
    assert "0:pause: " in proc.stderr and "0:bin/pause: " in proc.stderr, proc.stderr


# A stand-in for debootstrap: --make-tarball writes a tarball of "packages" (a new one each call, as a moving
# mirror would), --unpack-tarball unpacks the one it is given into the target; every call is logged.
DEBOOTSTRAP = """#!/bin/sh
echo "$*" >>"$DEBOOTSTRAP_LOG"
for arg; do case $arg in --make-tarball=*) make=${arg#*=} ;; --unpack-tarball=*) unpack=${arg#*=} ;; esac; done
eval "target=\\${$(($# - 1))}"
if [ -n "$make" ]; then
  mkdir -p "$target/pkgs" && date +%s%N >"$target/pkgs/version" && tar -czf "$make" -C "$target" pkgs
else
  mkdir -p "$target" && tar -xzf "$unpack" -C "$target"
fi
"""

# A stand-in for chroot: the stand-in debootstrap's root has no python3 to compile its modules with.
CHROOT = """#!/bin/sh
cat >/dev/null
"""


def test_the_debian_images_unpack_the_packages_kept_in_the_cache(tmp_path):
    """The packages are downloaded once per image and key (debootstrap --make-tarball) and kept beside it; both
    builds and `verify` unpack those same .debs offline (--unpack-tarball), so the two builds compare the
    build, not two states of the mirror. With a stand-in debootstrap whose downloads differ every time."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "debootstrap").write_text(DEBOOTSTRAP)
    (tools / "debootstrap").chmod(0o755)
    (tools / "chroot").write_text(CHROOT)
    (tools / "chroot").chmod(0o755)
    log = tmp_path / "debootstrap.log"
    cache = tmp_path / "cache"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EMQX_EE_")},
        "EMQX_EE_CACHE": str(cache),
        "DEBOOTSTRAP_LOG": str(log),
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(NODE_IMAGE), *args], env=env, capture_output=True, text=True, timeout=300)

    built = run("debian")
    assert built.returncode == 0, built.stderr
    tarball = Path(built.stdout.strip())
    debs = tarball.with_name(tarball.name.removesuffix(".tar") + ".debs.tgz")

    def sources() -> list[str]:
        """Where each debootstrap call took its packages from."""
        return [re.search(r"--(make|unpack)-tarball=(\S+)", c).group(0) for c in log.read_text().splitlines()]

    first = sources()
    assert len(first) == 3 and first[0].startswith("--make-tarball="), first
    assert first[1:] == [f"--unpack-tarball={debs}"] * 2, first
    assert debs.is_file() and run("rebuilt", "debian").stdout.strip() == run("digest", "debian").stdout.strip()
    verified = run("verify", "debian")
    assert verified.returncode == 0, verified.stderr
    assert sources()[3:] == [f"--unpack-tarball={debs}"], "verify unpacks the kept packages, downloads nothing"


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
    copy = repo_copy(tmp_path / "repo", standin_inputs()).parents[1]

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
