"""Pack a root filesystem directory into a one-layer OCI image tarball that `ctr images import` loads,
byte for byte the same whenever the directory holds the same files (scripts/node-image.sh).

    python oci_image.py ROOTFS OUT.tar --ref docker.io/emqx-ee-local/NAME:TAG [--entrypoint ARG]... [--cmd ARG]...
    python oci_image.py digest IMAGE.tar      the image's digest (its manifest's)
    python oci_image.py diff ONE.tar TWO.tar  the layer entries that differ between two images

Prints the image's digest (its manifest's). What makes it reproducible: entries in sorted order, every
mtime set to EPOCH, owners kept as numbers only (no user or group names), no device nodes (the runtime
mounts /dev), gzip without a file name or time, and no creation time in the config. The layout follows the
OCI image spec (image-layout.md, manifest.md, config.md); the image name is the index annotation that
containerd's importer reads (io.containerd.image.name, containerd client/import.go).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

EPOCH = 0
# Directories whose contents belong to the runtime, not to the image.
RUNTIME_DIRS = {"dev", "proc", "sys"}
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def entries(root: Path) -> list[str]:
    """Every path under root, relative, sorted so that a directory comes before what it holds."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel != "." and rel.split(os.sep)[0] in RUNTIME_DIRS:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            found.append(os.path.normpath(os.path.join(rel, name)))
    return sorted(found, key=lambda p: p.split(os.sep))


def normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = EPOCH
    info.uname = info.gname = ""
    info.pax_headers = {}
    return info


def write_layer(root: Path, out) -> None:
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in entries(root):
            path = root / rel
            st = path.lstat()
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
                continue
            info = normalized(tar.gettarinfo(str(path), arcname=rel))
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)


class Hashing(io.RawIOBase):
    """A write-only file that hashes what goes through it on its way to another."""

    def __init__(self, out) -> None:
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.size

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)


def blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def pack(root: Path, out: Path, ref: str, entrypoint: list[str], cmd: list[str], arch: str = "amd64") -> str:
    """Write the image tarball of root to out; return its manifest digest."""
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        layer_path = Path(tmp) / "layer.tar.gz"
        with open(layer_path, "wb") as raw:
            gz_hash = Hashing(raw)
            with gzip.GzipFile(filename="", mode="wb", fileobj=gz_hash, mtime=0, compresslevel=6) as gz:
                tar_hash = Hashing(gz)
                write_layer(root, tar_hash)
        diff_id = "sha256:" + tar_hash.sha.hexdigest()
        layer = {"mediaType": LAYER, "digest": "sha256:" + gz_hash.sha.hexdigest(), "size": gz_hash.size}
        config_digest, config = blob(
            canonical(
                {
                    "architecture": arch,
                    "os": "linux",
                    "config": {
                        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                        "Entrypoint": entrypoint or None,
                        "Cmd": cmd or None,
                        "WorkingDir": "/",
                    },
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                }
            )
        )
        manifest_digest, manifest = blob(
            canonical(
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST,
                    "config": {"mediaType": CONFIG, "digest": config_digest, "size": len(config)},
                    "layers": [layer],
                }
            )
        )
        index = canonical(
            {
                "schemaVersion": 2,
                "mediaType": INDEX,
                "manifests": [
                    {
                        "mediaType": MANIFEST,
                        "digest": manifest_digest,
                        "size": len(manifest),
                        "platform": {"architecture": arch, "os": "linux"},
                        "annotations": {
                            "io.containerd.image.name": ref,
                            "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1],
                        },
                    }
                ],
            }
        )
        files: list[tuple[str, bytes | Path]] = [
            ("blobs/sha256/" + config_digest[7:], config),
            ("blobs/sha256/" + layer["digest"][7:], layer_path),
            ("blobs/sha256/" + manifest_digest[7:], manifest),
            ("index.json", index),
            ("oci-layout", canonical({"imageLayoutVersion": "1.0.0"})),
        ]
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for directory in ("blobs", "blobs/sha256"):
                info = normalized(tarfile.TarInfo(directory))
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            for name, content in sorted(files):
                info = normalized(tarfile.TarInfo(name))
                info.mode = 0o644
                if isinstance(content, Path):
                    info.size = content.stat().st_size
                    with open(content, "rb") as f:
                        tar.addfile(info, f)
                else:
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
        partial.replace(out)
    return manifest_digest


def digest(tarball: Path) -> str:
    """The manifest digest an image tarball's index names (what `ctr images ls` shows for it)."""
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile("index.json"))["manifests"][0]["digest"]


def _manifest(image: tarfile.TarFile) -> dict:
    """The manifest an open image tarball's index names."""
    index = json.load(image.extractfile("index.json"))
    return json.load(image.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))


def layer_members(tarball: Path) -> Iterator[tuple[int, tarfile.TarInfo, tarfile.TarFile]]:
    """Each entry of an image tarball's layers: the layer's number, the entry, and the layer's archive (to read
    a file's content from while the entry is the current one)."""
    with tarfile.open(tarball) as image:
        for number, layer in enumerate(_manifest(image)["layers"]):
            with tarfile.open(fileobj=image.extractfile("blobs/sha256/" + layer["digest"][7:]), mode="r:gz") as tar:
                for m in tar:
                    yield number, m, tar


def layer_entries(tarball: Path) -> dict[str, tuple]:
    """Each entry of an image tarball's layer: its type, mode, owner, link target and content hash."""
    with tarfile.open(tarball) as image:
        found: dict[str, tuple] = {"(config)": (_manifest(image)["config"]["digest"],)}
    for number, m, tar in layer_members(tarball):
        content = hashlib.sha256(tar.extractfile(m).read()).hexdigest() if m.isreg() else ""
        found[f"{number}:{m.name}"] = (m.type, m.mode, m.uid, m.gid, m.linkname, content)
    return found


def differences(one: Path, two: Path, limit: int = 20) -> list[str]:
    """What differs between two image tarballs, entry by entry (for a build that did not reproduce)."""
    a, b = layer_entries(one), layer_entries(two)
    changed = sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))
    lines = [f"{name}: {a.get(name, 'absent')} != {b.get(name, 'absent')}" for name in changed[:limit]]
    if len(changed) > limit:
        lines.append(f"... and {len(changed) - limit} more")
    return lines or ["the entries are the same; the archives differ in their encoding"]


def main() -> None:
    if sys.argv[1:2] == ["digest"]:
        print(digest(Path(sys.argv[2])))
        return
    if sys.argv[1:2] == ["diff"]:
        print("\n".join(differences(Path(sys.argv[2]), Path(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rootfs", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--ref", required=True, help="full image name, docker.io/...:TAG")
    parser.add_argument("--entrypoint", action="append", default=[])
    parser.add_argument("--cmd", action="append", default=[])
    args = parser.parse_args()
    print(pack(args.rootfs, args.out, args.ref, args.entrypoint, args.cmd))


if __name__ == "__main__":
    main()
