"""harness.helm.AnswerStore keeps Helm 3's answers to templates of the chart between sessions: these tests prove
that a kept answer is what Helm 3 says for the same chart files, values and flags, and that a change to any of
them, to the program, or a path outside the chart makes Helm 3 render again."""

import os
import shutil

import pytest

from harness.helm import AnswerStore, batched, values_text
from harness.tools import CHART

pytestmark = pytest.mark.unit


PROGRAM = "helm3-batch"


class Store:
    """A store over a copy of the chart that asks helm3-batch through `ask`, which records each question."""

    def __init__(self, root, chart):
        self.store = AnswerStore(root, chart)
        self.asked: list[list[str]] = []

    def ask(self, args, stdin):
        self.asked.append(list(args))
        return batched(args, stdin, "helm3")

    def answer(self, args, stdin):
        return self.store.answer(PROGRAM, self.ask, args, stdin)


@pytest.fixture
def store(tmp_path, monkeypatch):
    chart = tmp_path / "emqx-ee"
    shutil.copytree(CHART, chart)
    monkeypatch.delenv("EMQX_EE_HELM_ANSWERS", raising=False)
    return Store(tmp_path / "answers", chart), chart


def template(chart, *extra):
    return ["template", "emqx-ee", str(chart), "--namespace", "emqx", "-f", "-", *extra]


def test_a_kept_answer_is_helm3s_and_helm3_is_asked_once(store):
    store, chart = store
    values = values_text({"replicaCount": 5, "license": {"key": "evaluation"}})
    first = store.answer(template(chart), values)
    again = store.answer(template(chart), values)
    assert len(store.asked) == 1
    assert again == first and first[0] == 0 and "replicas: 5" in first[1]


def test_a_refusal_is_kept_with_its_words(store):
    store, chart = store
    values = values_text({"replicaCount": -1})
    first = store.answer(template(chart), values)
    assert first[0] != 0 and "replicaCount" in first[2]
    assert store.answer(template(chart), values) == first and len(store.asked) == 1


@pytest.mark.parametrize("change", ["values", "flags", "a template", "a file of the chart", "the program"])
def test_any_change_of_input_makes_helm3_render_again(store, change, monkeypatch):
    store, chart = store
    values = values_text({"replicaCount": 3})
    store.answer(template(chart), values)
    args = template(chart)
    if change == "values":
        values = values_text({"replicaCount": 4})
    elif change == "flags":
        args = template(chart, "--kube-version", "1.31.0")
    elif change == "a template":
        path = chart / "templates" / "statefulset.yaml"
        path.write_text(path.read_text() + "\n")
    elif change == "a file of the chart":
        (chart / "files" / "new.txt").write_text("x")
    else:  # another file as the program: only its size and modification time are read
        monkeypatch.setattr("harness.helm.tool", lambda name: str(chart / "Chart.yaml"))
    session = Store(store.store.root, chart)  # the next session reads the same folder
    session.answer(args, values)
    assert len(session.asked) == 1, change


def test_the_next_session_finds_the_answer_when_nothing_changed(store):
    store, chart = store
    values = values_text({"replicaCount": 3})
    first = store.answer(template(chart), values)
    session = Store(store.store.root, chart)
    assert session.answer(template(chart), values) == first and not session.asked


def test_another_checkout_of_the_same_chart_finds_the_answer(store, tmp_path):
    store, chart = store
    values = values_text({"replicaCount": 3})
    first = store.answer(template(chart), values)
    elsewhere = tmp_path / "elsewhere" / chart.name
    shutil.copytree(chart, elsewhere)
    session = Store(store.store.root, elsewhere)
    assert session.answer(template(elsewhere), values) == first and not session.asked


def test_an_answer_that_names_the_chart_s_path_is_not_kept(store):
    store, chart = store
    values = values_text({})
    said = (1, "", f"Error: {chart}/templates/broken.yaml: read failed")
    store.store.answer(PROGRAM, lambda args, stdin: said, template(chart), values)
    session = Store(store.store.root, chart)
    session.answer(template(chart), values)
    assert len(session.asked) == 1


def test_a_path_outside_the_chart_or_the_switch_leaves_the_store_out(store, monkeypatch, tmp_path):
    store, chart = store
    values = values_text({})
    assert not store.store.keeps(template(chart, "--values", str(tmp_path / "more.yaml")))
    assert store.store.keeps(template(chart))
    monkeypatch.setenv("EMQX_EE_HELM_ANSWERS", "off")
    assert not store.store.keeps(template(chart))
    store.answer(template(chart), values)
    store.answer(template(chart), values)
    assert len(store.asked) == 2 and not store.store.root.exists()


def test_only_the_newest_folders_are_kept(store):
    store, _ = store
    root = store.store.root
    root.mkdir(parents=True)
    for n in range(AnswerStore.KEEP + 2):
        old = root / f"old-{n}"
        old.mkdir()
        os.utime(old, (n, n))
    folder = store.store.folder(PROGRAM)
    kept = sorted(p.name for p in root.iterdir())
    assert kept == sorted([folder.name] + [f"old-{n}" for n in range(3, AnswerStore.KEEP + 2)])
