"""Publishing the chart to real servers on loopback: a throwaway CA and GnuPG key, Caddy serving a chart
repository over HTTPS, the CNCF distribution registry with htpasswd and TLS, and Helm CLIs whose config,
cache and registry logins live in a directory of their own (never the user's ~/.config/helm).

scripts/build-publish-tools.sh builds caddy and registry into the tool cache; without them every user of
this module fails with that instruction.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .cluster import free_port
from .tools import ROOT, Helm, cache_dir

SCRIPTS = ROOT / "scripts"
BUILD_HINT = "run scripts/build-publish-tools.sh"


def publish_tool(name: str) -> str:
    """Path of caddy or registry in the tool cache; fails (not skips) with the command that builds it."""
    path = cache_dir() / "bin" / name
    if not path.exists():
        raise FileNotFoundError(f"{name} not found in {path.parent}: {BUILD_HINT}")
    return str(path)


def run(cmd: list[str], *, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 120):
    """Run a command, capture its output; the caller decides what a non-zero exit means."""
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=timeout)


def must(proc: subprocess.CompletedProcess) -> str:
    """stdout of a command that has to succeed; its stderr in the failure otherwise."""
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, proc.args))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


# ---------------------------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class Tls:
    ca: Path  # PEM of the throwaway CA: what clients pass as --ca-file
    cert: Path  # server certificate for 127.0.0.1 and localhost, signed by the CA
    key: Path


def throwaway_ca(directory: Path) -> Tls:
    """A CA valid for one day and a server certificate for 127.0.0.1/localhost (openssl, ECDSA P-256)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    must(run(["openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "1",
              "-subj", "/CN=emqx-ee throwaway test CA", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"]))  # fmt: skip
    must(run(["openssl", "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1"]))
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    must(run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
              "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(ext)]))  # fmt: skip
    return Tls(ca, cert, key)


# -------------------------------------------------------------------------------------------- GnuPG


@dataclass(frozen=True)
class SigningKey:
    name: str  # what `helm package --sign --key` selects
    fingerprint: str
    secring: Path  # legacy binary secret keyring (helm package --keyring)
    pubring: Path  # binary public keyring (helm verify / pull --verify --keyring)
    gnupghome: Path


def throwaway_signing_key(directory: Path, name: str = "emqx-ee test signer") -> SigningKey:
    """A fresh passphrase-less RSA signing key in its own GNUPGHOME, exported as the binary keyrings Helm reads."""
    if not shutil.which("gpg"):
        raise FileNotFoundError("gpg not found: install GnuPG (Debian: apt-get install gnupg)")
    home = directory / "gnupg"
    home.mkdir(parents=True, mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    params = f"%no-protection\nKey-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\nName-Real: {name}\n"
    params += "Name-Email: signer@example.invalid\nExpire-Date: 1d\n%commit\n"
    must(run(["gpg", "--batch", "--gen-key"], env=env, stdin=params))
    colons = must(run(["gpg", "--batch", "--with-colons", "--list-secret-keys"], env=env))
    fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
    secring, pubring = directory / "secring.gpg", directory / "pubring.gpg"
    secring.write_bytes(
        subprocess.run(["gpg", "--batch", "--export-secret-keys"], env=env, capture_output=True, check=True).stdout
    )
    pubring.write_bytes(subprocess.run(["gpg", "--batch", "--export"], env=env, capture_output=True, check=True).stdout)
    return SigningKey(name, fingerprint, secring, pubring, home)


def stop_gpg_agent(key: SigningKey) -> None:
    """Stop the gpg-agent that key generation started for this GNUPGHOME (only that one)."""
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": str(key.gnupghome)}, check=False)


# --------------------------------------------------------------------------------------------- Helm


class HelmHome:
    """A Helm CLI with its own config, cache, data and registry-login files under one directory."""

    def __init__(self, helm: Helm, home: Path):
        self.helm, self.home = helm, home
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_DATA_HOME": str(home / "data"),
            "HELM_REGISTRY_CONFIG": str(home / "registry.json"),
            "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml"),
            "HELM_REPOSITORY_CACHE": str(home / "cache" / "repository"),
        }

    def __str__(self) -> str:
        return str(self.helm)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return run([self.helm.path, *args], env=self.env, stdin=stdin, timeout=timeout)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        return must(self.run(*args, stdin=stdin))

    def script(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run scripts/NAME with this Helm CLI (HELM=...) and its homes."""
        env = {**self.env, "HELM": self.helm.path, **(extra_env or {})}
        return run([str(SCRIPTS / name), *args], env=env, timeout=300)


# ------------------------------------------------------------------------------------------ servers


class Server:
    """A server process on a loopback port, its output in a log file, stopped by its own pid."""

    def __init__(self, name: str, cmd: list[str], log: Path, port: int, env: dict[str, str] | None = None):
        self.name, self.port, self.log = name, port, log
        self._out = log.open("w")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_https(self, url: str, ca: Path, accept: tuple[int, ...] = (200,), timeout: float = 30) -> None:
        """Wait until `url` answers over TLS (verified against `ca`) with one of the `accept` statuses."""
        context = ssl.create_default_context(cafile=str(ca))
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, context=context, timeout=2) as resp:
                    if resp.status in accept:
                        return
                    last = resp.status
            except urllib.error.HTTPError as err:
                if err.code in accept:
                    return
                last = err.code
            except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
                last = err
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.name} did not answer {url} within {timeout:.0f}s (last: {last}):\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


class ChartRepositoryServer(Server):
    """Caddy serving `root` (index.yaml, packages, provenance files) as static files over HTTPS."""

    def __init__(self, root: Path, tls: Tls, workdir: Path):
        port = free_port()
        self.root, self.url = root, f"https://127.0.0.1:{port}"
        workdir.mkdir(parents=True, exist_ok=True)
        caddyfile = workdir / "Caddyfile"
        caddyfile.write_text(
            "{\n\tadmin off\n\tauto_https disable_redirects\n\tskip_install_trust\n\tpersist_config off\n}\n"
            f"https://127.0.0.1:{port} {{\n\tbind 127.0.0.1\n\ttls {tls.cert} {tls.key}\n"
            f"\troot * {root}\n\tfile_server\n}}\n"
        )
        env = {**os.environ, "XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config")}
        cmd = [publish_tool("caddy"), "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
        super().__init__("caddy", cmd, workdir / "caddy.log", port, env)
        (root / ".ready").write_text("ok\n")
        self.wait_https(f"{self.url}/.ready", tls.ca)


class OciRegistry(Server):
    """The distribution registry on loopback with TLS and htpasswd (bcrypt) authentication."""

    def __init__(self, tls: Tls, workdir: Path, username: str = "publisher"):
        port = free_port()
        self.host, self.username = f"127.0.0.1:{port}", username
        self.password = secrets.token_urlsafe(18)
        workdir.mkdir(parents=True, exist_ok=True)
        # Caddy's bcrypt is the same algorithm htpasswd -B writes; the registry accepts only bcrypt.
        hashed = must(run([publish_tool("caddy"), "hash-password", "--algorithm", "bcrypt", "--bcrypt-cost", "5",
                           "--plaintext", self.password])).strip()  # fmt: skip
        htpasswd = workdir / "htpasswd"
        htpasswd.write_text(f"{username}:{hashed}\n")
        config = workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'storage'}\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
            f"  tls:\n    certificate: {tls.cert}\n    key: {tls.key}\n"
            f"auth:\n  htpasswd:\n    realm: emqx-ee-test\n    path: {htpasswd}\n"
        )
        env = {**os.environ, "OTEL_TRACES_EXPORTER": "none", "OTEL_SDK_DISABLED": "true"}
        super().__init__(
            "registry", [publish_tool("registry"), "serve", str(config)], workdir / "registry.log", port, env
        )
        # /v2/ answers 401 without credentials once the registry is up.
        self.wait_https(f"https://{self.host}/v2/", tls.ca, accept=(401,))

    @property
    def ref(self) -> str:
        return f"oci://{self.host}/charts"
