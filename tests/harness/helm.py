"""`helm template` as a function: values in as data, read-only manifests out, one render per input.

Every distinct (helm binary, chart, values, release, namespace) is rendered once per
test session. The manifests are frozen so that no test can change what another test sees.

`template` and `lint` go to helm-batch and helm3-batch (tools/helm-batch), which run Helm's own command
tree for many requests in one process: a render costs about 30 ms there instead of 80 to 110 ms in a new
helm process. tools/tests/test_helm_batch.py checks that they answer as the helm binaries do.

Every Helm 4 `helm template` the harness runs is also answered by the other majors of COMPARED_WITH (Helm 3
unless `--helm-majors` leaves it out), at the same time, and a different answer raises HelmDiffers in the
call that asked for the render: the same objects for an accepted render, the same exit code and words for a
refused one. Nothing else may run a Helm 4 template (batched and helm_binary refuse it unless told
`uncompared=True`, which only the batch programs' own tests say).
"""

from __future__ import annotations

import atexit
import base64
import difflib
import fcntl
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from .tools import CHART, Helm, cache_dir, tool

T = TypeVar("T")

RELEASE = "emqx-ee"
NAMESPACE = "emqx"


class HelmError(Exception):
    """helm exited non-zero; `stderr` is what it said."""

    def __init__(self, cmd: list[str], returncode: int, stderr: str):
        self.cmd, self.returncode, self.stderr = cmd, returncode, stderr
        super().__init__(f"{' '.join(cmd)} exited {returncode}:\n{stderr}")


class HelmDiffers(AssertionError):
    """Another Helm major answered a Helm 4 `helm template` otherwise than Helm 4. An AssertionError, not a
    HelmError: it fails the test that made the render, also inside `pytest.raises(HelmError)`."""


class FrozenDict(dict):
    """A dict that refuses changes (jsonpath-ng still sees a dict)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("rendered manifests are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]


class FrozenList(list):
    """A list that refuses changes."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("rendered manifests are read-only")

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __iadd__ = __imul__ = _refuse  # type: ignore[assignment]


def freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    return value


class Manifests:
    """The objects of one render, with lookups that fail loudly."""

    def __init__(self, docs: list[dict[str, Any]], source: str):
        self.docs = FrozenList(freeze(d) for d in docs)
        self.source = source

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.docs)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        if len(found) != 1:
            names = [d["metadata"]["name"] for d in self.of_kind(kind)]
            raise AssertionError(f"{self.source}: expected one {kind} {name or ''}, found {names}")
        return found[0]

    def maybe(self, kind: str, name: str | None = None) -> dict[str, Any] | None:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        return found[0] if found else None

    @property
    def statefulset(self) -> dict[str, Any]:
        return self.one("StatefulSet")

    def workloads(self) -> list[dict[str, Any]]:
        """Every object with a pod template."""
        return [d for d in self.docs if d["kind"] in ("StatefulSet", "Deployment", "DaemonSet", "Job")]

    def pod_specs(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(object, pod spec) of everything that runs pods: workloads' templates and bare Pods (helm test)."""
        return [(d, d["spec"]["template"]["spec"]) for d in self.workloads()] + [
            (d, d["spec"]) for d in self.of_kind("Pod")
        ]

    def settings(self, kind: str = "StatefulSet") -> dict[str, str]:
        """The plain-valued env of the emqx container of the workload of `kind` (the EMQX settings, which the
        chart writes into the pod template; valueFrom entries are left out)."""
        return emqx_settings(self.one(kind))

    def pod_labels(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """(object, labels its pods get) of everything that runs pods."""
        return [(d, d["spec"]["template"]["metadata"]["labels"]) for d in self.workloads()] + [
            (d, d["metadata"]["labels"]) for d in self.of_kind("Pod")
        ]


def emqx_settings(workload: Mapping[str, Any]) -> dict[str, str]:
    """The plain-valued env of the emqx container of a workload (rendered or live)."""
    for container in workload["spec"]["template"]["spec"]["containers"]:
        if container["name"] == "emqx":
            return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    raise AssertionError(f"{workload['kind']}/{workload['metadata']['name']}: no emqx container")


_cache: dict[str, Any] = {}


def go_env(batch: bool = False) -> dict[str, str]:
    """The environment for the Go programs the harness starts (helm, kubectl, ct and the helm it runs): most
    live for a fraction of a second, and Go's garbage collector took a third of a render's CPU time. Off, with a
    memory limit far above a render's 60 MB as the safety net; no output depends on it. `batch`: for a batch
    program, which lives for many renders and collects when its heap reaches the limit (a few times per
    hundred renders instead of a few times per render)."""
    return {**os.environ, "GOGC": "off", "GOMEMLIMIT": "384MiB" if batch else "1GiB"}


class Batch:
    """One process of a batch program (helm-batch, helm3-batch): `answer(args, stdin)` is (exit code, stdout,
    stderr) of `helm ARGS <stdin`."""

    # Each request leaves a little of Helm's package state behind (cobra keeps every command's initialiser),
    # so each request is slower than the one before; a fresh process every 200 requests bounds that.
    REQUESTS = 200

    def __init__(self, program: str) -> None:
        self.program = program
        self._proc: subprocess.Popen[str] | None = None
        self._served = 0

    def answer(self, args: list[str], stdin: str) -> tuple[int, str, str]:
        if self._proc is None or self._served >= self.REQUESTS:
            self.close()
            self._proc = subprocess.Popen(
                [tool(self.program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=go_env(batch=True)
            )
            self._served = 0
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps({"args": args, "stdin": stdin}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait()
            self._proc = None
            raise RuntimeError(f"{self.program} exited {code} on helm {' '.join(args)} (its stderr is above)")
        self._served += 1
        reply = json.loads(line)
        return reply["status"], reply["stdout"], reply["stderr"]

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin
            self._proc.stdin.close()
            self._proc.wait()
            self._proc = None


class BatchPool:
    """Up to two processes of one batch program, one per core (in_parallel's two threads each get one)."""

    def __init__(self, program: str) -> None:
        self.program = program
        self._idle: queue.LifoQueue[Batch] = queue.LifoQueue()
        self._started = 0
        self._lock = threading.Lock()

    def answer(self, args: list[str], stdin: str) -> tuple[int, str, str]:
        with self._lock:
            if self._idle.empty() and self._started < 2:
                self._started += 1
                self._idle.put(Batch(self.program))
        batch = self._idle.get()
        try:
            return batch.answer(args, stdin)
        finally:
            self._idle.put(batch)

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get().close()


# The batch program of each helm binary's tool name.
BATCHES = {"helm": BatchPool("helm-batch"), "helm3": BatchPool("helm3-batch")}

# The tool names of the other majors that answer every Helm 4 template as well (tests/conftest.py sets it from
# --helm-majors, and says so in the session's summary when it leaves Helm 3 out).
COMPARED_WITH: list[str] = ["helm3"]

# The other majors' renders, made while Helm 4 makes its own: as many at a time as their BatchPool has processes.
_OTHERS = ThreadPoolExecutor(max_workers=2)


@atexit.register
def _close_batches() -> None:
    for pool in BATCHES.values():
        pool.close()


def _escapes(helm: str, args: Sequence[str], uncompared: bool) -> None:
    if helm == "helm" and args[:1] == ["template"] and not uncompared:
        raise RuntimeError(
            f"helm {' '.join(args)}: a Helm 4 template outside answer() would escape the comparison with "
            f"{', '.join(COMPARED_WITH) or 'the other majors'}; render through render(), run() or answer()"
        )


def batched(args: list[str], stdin: str, helm: str = "helm", *, uncompared: bool = False) -> tuple[int, str, str]:
    """`helm ARGS` (template or lint) answered by the batch program of `helm` (the tool name: helm or helm3) alone.
    A Helm 4 template is refused unless `uncompared` (the batch programs' own tests): answer() runs those."""
    _escapes(helm, args[:1], uncompared)
    return BATCHES[helm].answer(args, stdin)


def helm_binary(cmd: list[str], stdin: str = "", *, uncompared: bool = False) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the helm binary run as `cmd`, a process of its own (a Helm 4 template only
    if `uncompared`, as in batched)."""
    _escapes("helm" if cmd[0] == tool("helm") else "", cmd[1:2], uncompared)
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, env=go_env())
    return proc.returncode, proc.stdout, proc.stderr


_answers: dict[str, tuple[int, str, str]] = {}


def _other(helm: str, args: list[str], stdin: str) -> tuple[int, str, str]:
    """The answer of another major's batch program; once per input and session for the project's chart, which
    Helm 4 renders for several tests (its copies in a test's tmp_path may change between renders), and kept
    between sessions by AnswerStore."""
    if str(CHART) not in args:
        return BATCHES[helm].answer(args, stdin)
    key = json.dumps(["answer", helm, args, stdin])
    if key not in _answers:
        produce = partial(STORE.answer, BATCHES[helm].program, BATCHES[helm].answer, args, stdin)
        _answers[key] = tuple(_shared(key, produce))  # type: ignore[assignment]
    return _answers[key]


class AnswerStore:
    """The other majors' answers to templates of the project's chart, kept in the tool cache between sessions.

    A template is a function of the chart's files, the values, the flags and the batch program, so an answer is
    kept under a folder named by the digest of every file of the chart and the program's size and modification
    time (a rebuilt program is a new file), and found there by the digest of the flags and values. The chart's
    path is left out of that digest, so another checkout of the same chart finds the answer; an answer that
    names the path is not kept. A change to any of the chart's files, a new program, other values or other
    flags: Helm 3 renders again. Only templates whose only path is the chart's are kept (a file elsewhere is
    not in the digest). Helm 4 still renders every time and is compared with the kept answer as with a fresh
    one. EMQX_EE_HELM_ANSWERS=off leaves it out. The last KEEP folders are kept (other checkouts may have other
    charts); older ones are removed."""

    KEEP = 4

    def __init__(self, root: Path, chart: Path) -> None:
        self.root, self.chart = root, chart
        self._folders: dict[str, Path] = {}
        self._lock = threading.Lock()

    @staticmethod
    def chart_digest(chart: Path) -> str:
        """sha256 over the relative path and bytes of every file under `chart`."""
        digest = hashlib.sha256()
        for path in sorted(p for p in chart.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(chart)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()

    def folder(self, program: str) -> Path:
        with self._lock:
            if program not in self._folders:
                stat = Path(tool(program)).stat()
                name = f"{program}-{stat.st_size}-{stat.st_mtime_ns}-{self.chart_digest(self.chart)[:32]}"
                folder = self.root / name
                folder.mkdir(parents=True, exist_ok=True)
                os.utime(folder)
                for old in sorted(self.root.iterdir(), key=lambda p: p.stat().st_mtime)[: -self.KEEP]:
                    if old != folder:
                        shutil.rmtree(old, ignore_errors=True)
                self._folders[program] = folder
            return self._folders[program]

    def keeps(self, args: Sequence[str]) -> bool:
        return os.environ.get("EMQX_EE_HELM_ANSWERS") != "off" and all(
            a == str(self.chart) or "/" not in a for a in args
        )

    def answer(
        self, program: str, ask: Callable[[list[str], str], tuple[int, str, str]], args: list[str], stdin: str
    ) -> tuple[int, str, str]:
        """`ask(args, stdin)`, the answer of the batch program `program`, or the kept one when there is one."""
        if not self.keeps(args):
            return ask(args, stdin)
        # The chart by its digest (the folder), not its path: another checkout of the same chart finds the answer.
        where = ["<chart>" if a == str(self.chart) else a for a in args]
        path = self.folder(program) / hashlib.sha256(json.dumps([where, stdin]).encode()).hexdigest()
        try:
            code, stdout, stderr = json.loads(path.read_text())
            return code, stdout, stderr
        except (OSError, ValueError):
            pass
        found = ask(args, stdin)
        if str(self.chart) in found[1] + found[2]:
            return found  # it names this checkout's path: not an answer for another
        written = path.with_suffix(f".{os.getpid()}")
        written.write_text(json.dumps(found))
        written.replace(path)
        return found


STORE = AnswerStore(cache_dir() / "helm-answers", CHART)


def _compared(args: list[str], stdin: str) -> tuple[int, str, str]:
    """Helm 4's answer to `helm ARGS <stdin` (template), once each of COMPARED_WITH has answered the same."""
    others = [(name, _OTHERS.submit(_other, name, args, stdin)) for name in COMPARED_WITH]
    mine = BATCHES["helm"].answer(args, stdin)
    for name, future in others:
        said = differences(mine, future.result())
        if said:
            values = stdin if len(stdin) <= 2000 else stdin[:2000] + "..."
            raise HelmDiffers(
                f"{name} answers `helm {' '.join(args)}` otherwise than helm4, with the values {values}\n"
                + "\n".join(said)
            )
    return mine


def answer(cmd: list[str], stdin: str = "") -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a helm command: from a batch program for template and lint (a Helm 4
    template compared with the other majors, see _compared), from the helm binary for everything else (commands
    that reach a cluster or a repository)."""
    if cmd[1:2] in (["template"], ["lint"]):
        for name in BATCHES:
            if cmd[0] == tool(name):
                if cmd[1] == "lint":
                    return BATCHES[name].answer(cmd[1:], stdin)
                return _compared(cmd[1:], stdin) if name == "helm" else _other(name, cmd[1:], stdin)
    return helm_binary(cmd, stdin)


def run(cmd: list[str], stdin: str = "") -> str:
    """Run a helm command with `stdin`; its stdout, or HelmError carrying helm's stderr."""
    code, stdout, stderr = answer(cmd, stdin)
    if code != 0:
        raise HelmError(cmd, code, stderr)
    return stdout


# Under pytest-xdist, conftest names a directory that the session's processes share: a result one worker
# made is read by the others instead of being made again (every worker asks for every scenario).
SHARED = "EMQX_EE_SHARED_RENDERS"


def _produced(produce: Callable[[], Any]) -> Any:
    try:
        return produce()
    except (HelmError, HelmDiffers) as err:
        return err


def _to_json(result: Any) -> dict[str, Any]:
    if isinstance(result, Manifests):
        return {"manifests": result.docs, "source": result.source}
    if isinstance(result, HelmError):
        return {"error": [result.cmd, result.returncode, result.stderr]}
    if isinstance(result, HelmDiffers):
        return {"differs": str(result)}
    return {"text": result}


def _from_json(found: dict[str, Any]) -> Any:
    if "manifests" in found:
        return Manifests(found["manifests"], found["source"])
    if "error" in found:
        return HelmError(*found["error"])
    if "differs" in found:
        return HelmDiffers(found["differs"])
    return found["text"]


def _shared(skey: str, produce: Callable[[], Any]) -> Any:
    """produce()'s result, made once by whichever process of the session asks first (a file lock per key)."""
    folder = os.environ.get(SHARED)
    if not folder:
        return _produced(produce)
    path = Path(folder) / hashlib.sha256(skey.encode()).hexdigest()
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return _from_json(json.loads(path.read_text()))
        result = _produced(produce)
        path.write_text(json.dumps(_to_json(result)))
        return result


def _cached(key: tuple, produce: Callable[[], Any]) -> Any:
    """Memoise results, HelmErrors and HelmDiffers alike, so a rejected input is also run once (once per session
    when the session's processes share a folder, see SHARED)."""
    skey = json.dumps(key, sort_keys=True, default=str)
    if skey not in _cache:
        _cache[skey] = _shared(skey, produce)
    result = _cache[skey]
    if isinstance(result, (HelmError, HelmDiffers)):
        raise result
    return result


def documents(text: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML stream (empty documents dropped). libyaml's parser with PyYAML's
    safe constructors: five times faster than yaml.safe_load_all, which parses in Python."""
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]


def values_text(values: Mapping[str, Any] | None) -> str:
    """Values as the text helm reads with `-f -`: JSON, which is YAML, except that YAML has no surrogate pairs, so
    a character beyond U+FFFF (an emoji) is written as YAML's \\U0001F389 instead of JSON's \\ud83c\\udf89."""

    def joined(m: re.Match[str]) -> str:
        high, low = int(m[1], 16), int(m[2], 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    text = json.dumps(values or {}, sort_keys=True)
    return re.sub(r"(?<!\\)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", joined, text)


def render(
    helm: Helm,
    values: Mapping[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    chart: Path = CHART,
    kube_version: str | None = None,
) -> Manifests:
    """Render the chart with `helm template` (for `kube_version`, as `--kube-version` sets it); raises HelmError
    with helm's stderr on failure."""
    values_json = values_text(values)
    cmd = [helm.path, "template", release, str(chart), "--namespace", namespace, "-f", "-"]
    if kube_version:
        cmd += ["--kube-version", kube_version]

    def produce() -> Manifests:
        return Manifests(documents(run(cmd, values_json)), f"{helm} template {release} {values_json}")

    return _cached(("template", cmd, values_json), produce)


def chart_with_line(folder: Path, template: str, line: str, new: str, ignore: Callable[..., Any] | None = None) -> Path:
    """A copy of the chart under `folder` whose one line of `template` (a path in the chart) containing `line` is
    `new`: a mutation for a test to render. `ignore` leaves files out of the copy, as shutil.copytree's."""
    chart = folder / CHART.name
    shutil.copytree(CHART, chart, ignore=ignore)
    path = chart / template
    lines = path.read_text().split("\n")
    hits = [i for i, text in enumerate(lines) if line in text]
    assert len(hits) == 1, f"the mutation matches {len(hits)} lines of {template}: make it unique"
    lines[hits[0]] = new
    path.write_text("\n".join(lines))
    return chart


def in_parallel(calls: Iterable[Callable[[], T]]) -> list[T]:
    """The results of `calls`, made two at a time: each starts a helm (or other) process whose start-up is
    most of its time, and the machine has two cores. Raises the first exception, once every call has ended."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(call) for call in calls]
    return [f.result() for f in futures]


def render_many(helm: Helm, values: Sequence[Mapping[str, Any]], **kwargs: Any) -> list[Manifests]:
    """render() of each of `values` (with the same keyword arguments), two at a time."""
    return in_parallel(partial(render, helm, v, **kwargs) for v in values)


def prefetch(calls: Iterable[Callable[[], Any]]) -> None:
    """Run cached helm calls (render, lint) two at a time, for the tests that ask for them one by one next:
    each finds its result, or its own HelmError or HelmDiffers, in the cache."""

    def quietly(call: Callable[[], Any]) -> None:
        try:
            call()
        except (HelmError, HelmDiffers):
            pass  # cached: the test that asks for it sees it

    in_parallel(partial(quietly, call) for call in calls)


class Background(Generic[T]):
    """A slow call that one process makes over everything (checkov, ct lint). conftest starts it in a thread
    as soon as a test that needs it is collected (its module lists it in START_EARLY), so that it runs on the
    second core while the other tests render; result() waits for it, or makes the call if nothing started it."""

    _worker = ThreadPoolExecutor(max_workers=1)  # one such job at a time, beside the tests' own work

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._future: Future[T] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._future is None:
                self._future = self._worker.submit(self._call)

    def result(self) -> T:
        self.start()
        assert self._future is not None
        return self._future.result()


# A run of 20 or more base64 characters in a Secret's decoded value: a generated password, key or certificate.
_RANDOM = re.compile(r"[A-Za-z0-9+/=\n]{20,}")


# Fingerprints of generated credentials (_rollback_guard.tpl): on the StatefulSet, and in the rollback guard's
# expected.json.
FINGERPRINTS = ("checksum/erlang-cookie", "checksum/api-key-bootstrap")
_FINGERPRINT = re.compile(r'("fingerprint": )"[0-9a-f]{64}"')


def comparable(manifests: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The objects (a Manifests or a list of them) as plain data, with what differs on every render masked: the
    random runs in Secrets' values (generated credentials, certificates made by genCA), decoded so that the rest
    is compared, and the fingerprints of generated credentials."""
    out = json.loads(json.dumps(list(manifests)))
    for doc in out:
        if doc["kind"] == "Secret":
            for key, value in (doc.get("data") or {}).items():
                doc["data"][key] = _RANDOM.sub("<random>", base64.b64decode(value).decode())
        annotations = doc["metadata"].get("annotations") or {}
        for name in FINGERPRINTS:
            if name in annotations:
                annotations[name] = "<random>"
        if doc["kind"] == "ConfigMap" and "expected.json" in (doc.get("data") or {}):
            doc["data"]["expected.json"] = _FINGERPRINT.sub(r'\1"<random>"', doc["data"]["expected.json"])
    return out


_DOCUMENT = re.compile(r"^---$", re.M)
# The fingerprints of generated credentials as a document's text has them (comparable masks the same): in the
# StatefulSet's annotations and in the rollback guard's expected.json.
_FINGERPRINT_LINE = re.compile(rf"^( +(?:{'|'.join(map(re.escape, FINGERPRINTS))}): )[0-9a-f]{{64}}$", re.M)


def _same_text(a: str, b: str) -> bool:
    """Whether two documents' texts are the same but for fingerprints and blank lines at the end (Helm 4 ends
    some documents with one more newline than Helm 3; YAML ignores it unless a block scalar keeps it, `|+`)."""
    if a == b:
        return True
    if "|+" in a or ">+" in a:
        return False

    def masked(text: str) -> str:
        return _FINGERPRINT.sub(r"\1#", _FINGERPRINT_LINE.sub(r"\1#", text)).rstrip()

    return masked(a) == masked(b)


def _named(doc: Mapping[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def differences(helm4: tuple[int, str, str], other: tuple[int, str, str]) -> list[str]:
    """How another major's answer to a `helm template` differs from Helm 4's (empty when it does not): the same
    exit code and stderr (a refusal in the same words; both majors validate with the same JSON Schema library and
    run the same template functions), and the same objects in the same order, generated credentials and
    certificates compared by shape (comparable). Documents whose text is the same (_same_text) are not parsed."""
    (code4, out4, err4), (code, out, err) = helm4, other
    if code != code4:
        return [f"exit code {code}, helm4's {code4}; its stderr:\n{err}\nhelm4's stderr:\n{err4}"]
    if err != err4 and (code == 0 or _words(err) != _words(err4)):
        return ["stderr differs:", *_diff(err4, err)]
    if out == out4:
        return []
    mine, theirs = _DOCUMENT.split(out4), _DOCUMENT.split(out)
    if len(mine) == len(theirs):
        pairs = [(documents(a), documents(b)) for a, b in zip(mine, theirs, strict=True) if not _same_text(a, b)]
    else:
        pairs = [(documents(out4), documents(out))]
    said = []
    for a, b in pairs:
        names4, names = [_named(d) for d in a], [_named(d) for d in b]
        if names != names4:
            said.append(f"objects {names}, helm4's {names4}")
            continue
        for name, x, y in zip(names, comparable(a), comparable(b), strict=True):
            if x != y:
                said += [f"{name}:", *_diff(yaml.safe_dump(x), yaml.safe_dump(y))]
    return said


_SCHEMA = "Error: values don't meet the specifications of the schema(s)"


def _words(refusal: str) -> list[str]:
    """What a refusal says, as the majors can be compared on it. Schema errors: their lines in any order (both
    majors validate with santhosh-tekuri/jsonschema v6, which orders the errors under one value as Go orders a
    map: differently from one run to the next). A `fail` message: word for word (both engines wrap it as
    "execution error at (FILE:LINE:COL): MESSAGE"). Any other template error: its words and locations in order,
    not its layout (Helm 4's reformatExecErrorMsg in pkg/engine/engine.go puts each include of the chain on lines
    of its own; Helm 3's cleanupExecError leaves text/template's one line, each step prefixed "template: ")."""
    if refusal.startswith(_SCHEMA):
        return sorted(refusal.splitlines())
    if "execution error at (" in refusal:
        return [refusal]
    return [re.sub(r":?\s+", " ", refusal.replace("template: ", "")).strip()]


def _diff(helm4: str, other: str, lines: int = 40) -> list[str]:
    """The first lines of a unified diff, helm4's text first."""
    found = difflib.unified_diff(helm4.splitlines(), other.splitlines(), "helm4", "other", lineterm="", n=1)
    return list(islice(found, lines))


def notes(
    helm: Helm,
    values: Mapping[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    chart: Path = CHART,
) -> str:
    """NOTES.txt as `helm install --dry-run=client` prints it (Helm 4: needs no cluster)."""
    values_json = json.dumps(values or {}, sort_keys=True)
    cmd = [helm.path, "install", release, str(chart), "--namespace", namespace, "--dry-run=client", "-f", "-"]

    def produce() -> str:
        out = run(cmd, values_json)
        return out.split("\nNOTES:\n", 1)[1] if "\nNOTES:\n" in out else ""

    if helm.major == 4:
        # Helm 3 prints NOTES only from an install, which checks that a cluster answers even with
        # --dry-run=client (Install.RunWithContext in helm v3 pkg/action/install.go), so the render suite
        # compares the objects of the same input instead (a refusal is compared as well, and raised below).
        try:
            render(helm, values, release=release, namespace=namespace, chart=chart)
        except HelmError:
            pass  # the same refusal from both majors; the install below says it too
    return _cached(("notes", cmd, values_json), produce)


def lint(helm: Helm, values_file: Path, chart: Path = CHART) -> str:
    """`helm lint --strict` with one values file (once per session and content); raises HelmError on failure."""
    cmd = [helm.path, "lint", "--strict", str(chart), "-f", str(values_file)]

    def produce() -> str:
        code, stdout, stderr = answer(cmd)
        if code != 0:
            raise HelmError(cmd, code, stdout + stderr)
        return stdout

    return _cached(("lint", helm.path, str(chart), values_file.read_text()), produce)
