"""scripts/package.sh: a signed package carries a provenance file that `helm verify` accepts with the
signer's public key, under Helm 4 and Helm 3; a tampered package, a foreign key or a missing signature
is refused."""

import gzip
import io
import tarfile

import pytest

pytestmark = pytest.mark.publish


def test_signed_package_verifies_with_the_public_keyring(package, signing_key, helm, helm_home):
    pkg = package()
    prov = pkg.with_name(pkg.name + ".prov")
    assert prov.exists(), f"package.sh --sign wrote no provenance file next to {pkg}"
    assert "BEGIN PGP SIGNATURE" in prov.read_text()
    out = helm_home(helm).ok("verify", str(pkg), "--keyring", str(signing_key.pubring))
    assert signing_key.fingerprint in out, f"{helm} verify did not name the signer's fingerprint:\n{out}"


def test_tampered_package_fails_verification(package, signing_key, helm, helm_home, tmp_path):
    pkg = package()
    # Same name, one changed default in values.yaml: what a compromised mirror would serve.
    with tarfile.open(pkg) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    tampered_dir = tmp_path / "mirror"
    tampered_dir.mkdir()
    tampered = tampered_dir / pkg.name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for member, data in members:
            if member.name.endswith("/values.yaml"):
                data = data.replace(b"replicaCount: 1", b"replicaCount: 9", 1)
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    tampered.write_bytes(gzip.compress(buf.getvalue()))
    tampered.with_name(pkg.name + ".prov").write_bytes(pkg.with_name(pkg.name + ".prov").read_bytes())
    proc = helm_home(helm).run("verify", str(tampered), "--keyring", str(signing_key.pubring))
    assert proc.returncode != 0, f"{helm} verify accepted a tampered package"
    assert "sha256" in proc.stderr.lower() or "digest" in proc.stderr.lower(), proc.stderr


def test_package_signed_by_another_key_fails_verification(package, other_key, helm, helm_home):
    pkg = package()
    proc = helm_home(helm).run("verify", str(pkg), "--keyring", str(other_key.pubring))
    assert proc.returncode != 0, f"{helm} verify accepted a signature from a key outside the keyring"


def test_unsigned_package_has_no_provenance_and_fails_verification(package, signing_key, helm, helm_home):
    pkg = package(signed=False)
    assert not pkg.with_name(pkg.name + ".prov").exists()
    proc = helm_home(helm).run("verify", str(pkg), "--keyring", str(signing_key.pubring))
    assert proc.returncode != 0, f"{helm} verify accepted an unsigned package"


def test_sign_without_keyring_is_refused(helm4, helm_home, tmp_path):
    proc = helm_home(helm4).script("package.sh", "--sign", "anyone", "--out", str(tmp_path))
    assert proc.returncode != 0 and "--keyring" in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("*.tgz")), "nothing is packaged when signing cannot happen"


def test_package_version_override(package):
    pkg = package("0.1.0", signed=False)
    assert pkg.name == "emqx-ee-0.1.0.tgz"
    with tarfile.open(pkg) as tar:
        assert "version: 0.1.0" in tar.extractfile("emqx-ee/Chart.yaml").read().decode()
