"""Helm 3 answers every `helm template` of the suites as Helm 4 does. harness.helm sends each Helm 4 template to
Helm 3 as well and raises HelmDiffers in the call that asked for it (see its docstring); these tests prove that
a difference cannot pass: through every way the harness renders, for objects and for refusals, and that no
Helm 4 template runs outside the comparison. A chart copy whose extra template reads the Helm major
(.Capabilities.HelmVersion) makes the majors differ in the way `commonLabels.skew` asks for."""

import json
import os
import re
import shutil
import subprocess
import sys
from functools import partial

import pytest

from harness.helm import (
    COMPARED_WITH,
    NAMESPACE,
    RELEASE,
    SHARED,
    HelmDiffers,
    HelmError,
    answer,
    batched,
    differences,
    helm_binary,
    notes,
    prefetch,
    render,
    render_many,
    run,
)
from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

# A template that reads the major: each `skew` makes the majors differ in one way.
SKEW = """{{- $skew := .Values.commonLabels.skew | default "" }}
{{- $major := regexFind "^v[0-9]+" .Capabilities.HelmVersion.Version }}
{{- if eq $skew "field" }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: skew
  namespace: {{ .Release.Namespace }}
data:
  major: {{ $major | quote }}
{{- else if and (eq $skew "object") (eq $major "v3") }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: skew
  namespace: {{ .Release.Namespace }}
{{- else if and (eq $skew "refused") (eq $major "v3") }}
{{- fail "commonLabels.skew: refused by Helm 3 only" }}
{{- else if eq $skew "words" }}
{{- fail (printf "commonLabels.skew: refused by Helm %s" $major) }}
{{- end }}
"""


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    chart = tmp_path_factory.mktemp("skewed") / "emqx-ee"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-skew.yaml").write_text(SKEW)
    return chart


def skew(how: str, path: str = "") -> dict:
    return {"commonLabels": {"skew": how, **({"path": path} if path else {})}}


def template_cmd(helm4, chart, values=None) -> tuple[list[str], str]:
    cmd = [helm4.path, "template", RELEASE, str(chart), "--namespace", NAMESPACE, "-f", "-"]
    return cmd, json.dumps(values or {}, sort_keys=True)


# Every way the harness hands a test a Helm 4 render; each gets an input of its own, so none reads another's
# result from the cache.
WAYS = {
    "render": lambda h, c, v: render(h, v, chart=c),
    "render-kube-version": lambda h, c, v: render(h, v, chart=c, kube_version="1.27.0"),
    "render-release-namespace": lambda h, c, v: render(h, v, chart=c, release="other", namespace="elsewhere"),
    "render_many": lambda h, c, v: render_many(h, [v], chart=c),
    "prefetch-then-render": lambda h, c, v: (prefetch([partial(render, h, v, chart=c)]), render(h, v, chart=c)),
    "run": lambda h, c, v: run(*template_cmd(h, c, v)),
    "answer": lambda h, c, v: answer(*template_cmd(h, c, v)),
    "notes": lambda h, c, v: notes(h, v, chart=c),
}


def test_the_skewed_chart_renders_alike_until_a_skew_is_asked_for(other_helm, helm4, skewed):
    """The control: the copy itself, and its extra template's branch both majors take, compare equal."""
    render(helm4, {}, chart=skewed)
    assert render(helm4, skew("none"), chart=skewed).maybe("ConfigMap", "skew") is None


@pytest.mark.parametrize("way", list(WAYS))
def test_a_field_helm3_renders_otherwise_fails_every_way_of_rendering(other_helm, helm4, skewed, way):
    values = skew("field", path=way)
    with pytest.raises(HelmDiffers) as caught:
        WAYS[way](helm4, skewed, values)
    said = str(caught.value)
    assert "ConfigMap/skew:" in said, said
    assert f"-  major: v{helm4.major}" in said and f"+  major: v{other_helm.major}" in said, said
    assert json.dumps(values, sort_keys=True) in said, f"the message names the input: {said}"


def test_an_object_only_helm3_renders_fails_the_render(other_helm, helm4, skewed):
    with pytest.raises(HelmDiffers, match=r"ConfigMap/skew"):
        render(helm4, skew("object"), chart=skewed)


def test_a_refusal_by_helm3_alone_fails_the_render(other_helm, helm4, skewed):
    with pytest.raises(HelmDiffers, match=r"exit code 1, helm4's 0[\s\S]*commonLabels.skew: refused by Helm 3 only"):
        render(helm4, skew("refused"), chart=skewed)


def test_a_refusal_in_other_words_fails_even_where_a_refusal_is_expected(other_helm, helm4, skewed):
    """HelmDiffers is no HelmError: a test that expects the refusal still fails."""
    with pytest.raises(HelmDiffers, match=rf"refused by Helm v{other_helm.major}"):
        with pytest.raises(HelmError):
            render(helm4, skew("words"), chart=skewed)


def test_schema_errors_compare_in_any_order_but_word_for_word(helm4):
    """The validator lists the errors under one value in Go's map order, which changes from run to run."""
    code, out, err = answer(*template_cmd(helm4, CHART, {"auth": {"generate": False}}))
    lines = err.splitlines()
    nested = [i for i, line in enumerate(lines) if line.lstrip().startswith("- at '/auth/")]
    assert code == 1 and len(nested) == 2, err
    swapped = lines[:]
    swapped[nested[0]], swapped[nested[1]] = lines[nested[1]], lines[nested[0]]
    assert differences((code, out, err), (code, out, "\n".join(swapped) + "\n")) == []
    renamed = err.replace("/auth/dashboard/existingSecret", "/auth/dashboard/secret")
    assert differences((code, out, err), (code, out, renamed)), "another value path is another refusal"


def test_template_errors_compare_by_words_not_by_layout(other_helm, helm4, tmp_path):
    """Helm 4 lays a chain of includes out as a trace, Helm 3 as one line: the same words are the same refusal."""
    chart = tmp_path / "emqx-ee"
    shutil.copytree(CHART, chart)
    helpers = chart / "templates" / "_helpers.tpl"
    helpers.write_text(helpers.read_text().replace('include "emqx-ee.chart" .', 'include "emqx-ee.chart-gone" .'))
    cmd, values = template_cmd(helm4, chart)
    mine = answer(cmd, values)
    theirs = answer([other_helm.path, *cmd[1:]], values)
    assert mine[0] == theirs[0] == 1 and mine[2] != theirs[2], (mine[2], theirs[2])
    assert 'no template "emqx-ee.chart-gone"' in mine[2] and differences(mine, theirs) == []
    other_words = (theirs[0], theirs[1], theirs[2].replace("chart-gone", "chart-lost"))
    assert differences(mine, other_words), "another template name is another refusal"


def test_a_helm4_template_outside_the_comparison_is_refused(helm4):
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    with pytest.raises(RuntimeError, match="would escape the comparison"):
        batched(args, "")
    with pytest.raises(RuntimeError, match="would escape the comparison"):
        helm_binary([helm4.path, *args])
    code, out, _ = batched(["lint", str(CHART)], "")
    assert code == 0 and "1 chart(s) linted" in out, "lint is no render: it goes to the batch program as it is"


def test_only_the_batch_programs_own_tests_render_uncompared():
    """The one way past the comparison, `uncompared=True`, is for the tests that compare each batch program with
    its own helm binary; and only harness.helm reaches the batch processes themselves."""
    sources = {
        str(path.relative_to(ROOT)): path.read_text()
        for folder in ("tests", "tools", "scripts")
        for path in (ROOT / folder).rglob("*.py")
    }
    uncompared = {name for name, text in sources.items() if re.search(r",\s*uncompared\s*=\s*True", text)}
    assert uncompared == {"tools/tests/test_helm_batch.py"}, uncompared
    batches = {name for name, text in sources.items() if re.search(r"\bBATCHES\[|\bBatchPool\(|\bBatch\(", text)}
    assert batches == {"tests/harness/helm.py"}, batches


def test_helm_majors_4_leaves_helm3_out_and_says_so(other_helm, skewed):
    """A session without Helm 3 renders the skewed chart without a word from the comparison, reports the
    comparison tests skipped, and says in its summary that Helm 3 was left out."""
    assert COMPARED_WITH == [str(other_helm)]
    code = f"""
import pytest
from pathlib import Path
from harness.helm import COMPARED_WITH, render
from harness.tools import helm

def test_skewed():
    assert COMPARED_WITH == []
    assert render(helm(4), {skew("field")!r}, chart=Path({str(skewed)!r})).one("ConfigMap", "skew")
"""
    folder = skewed.parent / "majors-4"
    folder.mkdir(exist_ok=True)
    (folder / "test_skewed.py").write_text(code)
    this = f"{__file__}::test_an_object_only_helm3_renders_fails_the_render"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--helm-majors", "4"]
    cmd += ["--rootdir", str(ROOT), "-c", str(ROOT / "tox.ini"), str(folder / "test_skewed.py"), this]
    env = {k: v for k, v in os.environ.items() if k != SHARED}  # renders of its own, not this session's
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    assert "1 passed, 1 skipped" in out and "got empty parameter set" in out, out[-2000:]
    assert "Helm 3 left out (--helm-majors 4): no render of this session was compared with Helm 3's" in out, out
