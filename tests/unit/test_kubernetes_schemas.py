"""Every rendered object of every scenario is valid for every supported Kubernetes minor.

Uses kubernetes-validate's bundled OpenAPI schemas offline, in strict mode (unknown fields fail). Objects
of cert-manager's and prometheus-operator's APIs are validated against the openAPIV3Schema of their own
CRDs (their Go modules at CERT_MANAGER_VERSION and PROMETHEUS_OPERATOR_VERSION), with unknown fields
refused as the API server prunes them.

No template reads the Kubernetes version (a test below keeps it so), so `--kube-version` changes no object
and each scenario is rendered once, for every minor: the render the rest of the suite reads.
"""

import json
import re
from functools import cache

import jsonschema
import pytest
import yaml
from kubernetes_validate.utils import all_versions, schema_contents
from referencing import Registry, Resource

from harness.helm import HelmError, comparable, render
from harness.scenarios import scenarios
from harness.tools import CHART, go_module_dir, versions

schema_contents = cache(schema_contents)  # a minor's definitions are megabytes of JSON: read them once

pytestmark = pytest.mark.unit


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _supported_minors() -> list[str]:
    """Every minor of Chart.yaml's kubeVersion range that kubernetes-validate has schemas for."""
    low = _key(re.match(r">=\s*(\d+\.\d+)", CHART_YAML["kubeVersion"]).group(1))
    return sorted((v for v in set(all_versions()) if _key(v)[:2] >= low), key=_key)


CHART_YAML = yaml.safe_load((CHART / "Chart.yaml").read_text())
KUBERNETES_VERSIONS = _supported_minors()


def _closed(schema: dict) -> dict:
    """The CRD schema with additionalProperties false wherever it lists properties (strict like the rest).
    Each node is visited once: the CRDs nest deeply."""
    out = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes"):
            continue
        if key == "properties":
            out[key] = {name: _closed(prop) for name, prop in value.items()}
        else:
            out[key] = _closed(value) if isinstance(value, dict) else value
    if "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


# CRDs of the APIs the chart renders objects of: Go module, version pin, CRD directory, file pattern.
CRD_SOURCES = {
    "cert-manager.io": (
        "github.com/cert-manager/cert-manager",
        "CERT_MANAGER_VERSION",
        "deploy/crds",
        "cert-manager.io_*",
    ),
    "monitoring.coreos.com": (
        "github.com/prometheus-operator/prometheus-operator",
        "PROMETHEUS_OPERATOR_VERSION",
        "example/prometheus-operator-crd",
        "monitoring.coreos.com_*monitors",  # ServiceMonitor and PodMonitor
    ),
}


@cache
def crd_schemas() -> dict[str, dict]:
    schemas = {}
    for module, pin, directory, pattern in CRD_SOURCES.values():
        schemas |= _schemas_of(go_module_dir(module, versions()[pin]) / directory, pattern)
    return schemas


def _schemas_of(crds, pattern: str) -> dict[tuple[str, str], dict]:
    schemas = {}
    for path in crds.glob(f"{pattern}.yaml"):
        crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)  # libyaml: the CRDs are large
        for version in crd["spec"]["versions"]:
            api = f"{crd['spec']['group']}/{version['name']}"
            schemas[(api, crd["spec"]["names"]["kind"])] = _closed(version["schema"]["openAPIV3Schema"])
    return schemas


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = crd_schemas()[(api_version, kind)]
    # metadata is the API server's ObjectMeta, not part of the CRD schema
    schema = {**schema, "properties": {**schema["properties"], "metadata": {}}}
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


@cache
def kubernetes_validator(api_version: str, kind: str, kube_version: str) -> jsonschema.protocols.Validator:
    """The validator of one kind at one minor, from kubernetes-validate's strict schemas (files named
    `<kind>-<group>-<version>.json`, the group cut at its first dot). Made once: kubernetes_validate.validate()
    builds a new validator and registry for every object, which cost most of this module's time."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{kube_version}-local-strict"
    schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", kube_version)
    definitions = schema_contents(f"{folder}/_definitions.json", kube_version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate(doc: dict, kube_version: str) -> None:
    """Raise the best-matching ValidationError of `doc` at `kube_version`, as jsonschema.validate() does,
    without checking the (large) schemas again for every object."""
    if doc["apiVersion"].split("/")[0] in CRD_SOURCES:
        validator = crd_validator(doc["apiVersion"], doc["kind"])
        doc = {**doc, "metadata": {}}
    else:
        validator = kubernetes_validator(doc["apiVersion"], doc["kind"], kube_version)
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        raise error


@cache
def problem(doc_json: str, kube_version: str) -> str | None:
    """What the schemas of `kube_version` say against one object (as JSON: many scenarios render the same
    objects, each is validated once per minor)."""
    doc = json.loads(doc_json)
    try:
        validate(doc, kube_version)
    except jsonschema.ValidationError as err:
        return f"{doc['kind']}/{doc['metadata']['name']}: {err.message} at {list(err.path)}"
    return None


def test_crd_schemas_refuse_what_the_api_server_refuses():
    """The CRD schemas must bite, or the sweep proves nothing for Certificates and ServiceMonitors."""
    bad = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {}, "spec": {"dnsNames": ["x"]}}
    with pytest.raises(jsonschema.ValidationError, match="secretName"):
        validate(bad, KUBERNETES_VERSIONS[-1])
    with pytest.raises(jsonschema.ValidationError, match="dnsName"):
        validate({**bad, "spec": {"secretName": "s", "issuerRef": {"name": "i"}, "dnsName": ["x"]}}, "")

    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {}}
    with pytest.raises(jsonschema.ValidationError, match="selector"):
        validate({**monitor, "spec": {"endpoints": [{"port": "metrics"}]}}, "")
    with pytest.raises(jsonschema.ValidationError, match="scrapeInterval"):
        validate({**monitor, "spec": {"selector": {}, "endpoints": [{"scrapeInterval": "30s"}]}}, "")


@pytest.mark.parametrize("kube_version", [KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[-1]])
def test_kubernetes_schemas_refuse_what_the_api_server_refuses(kube_version):
    """The strict schemas must bite: an unknown field, a field of the wrong type, a missing required one."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 1883}]}}
    validate(service, kube_version)
    with pytest.raises(jsonschema.ValidationError, match="clusterIp"):
        validate({**service, "spec": {**service["spec"], "clusterIp": "None"}}, kube_version)
    with pytest.raises(jsonschema.ValidationError, match="'1883' is not of type 'integer'"):
        validate({**service, "spec": {"ports": [{"port": "1883"}]}}, kube_version)
    statefulset = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {}, "spec": {"template": {}}}
    with pytest.raises(jsonschema.ValidationError, match="'selector' is a required property"):
        validate(statefulset, kube_version)


def test_every_supported_minor_is_checked():
    """kubeVersion >=1.27 (persistentVolumeClaimRetentionPolicy is on by default from 1.27) up to the newest
    minor with schemas; the local cluster runs KUBERNETES_VERSION, which must be in the range."""
    assert KUBERNETES_VERSIONS[0] == "1.27.0" and len(KUBERNETES_VERSIONS) >= 10, KUBERNETES_VERSIONS
    cluster_minor = _key(versions()["KUBERNETES_VERSION"].lstrip("v"))[:2]
    assert cluster_minor in {_key(v)[:2] for v in KUBERNETES_VERSIONS}


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_every_object_matches_the_kubernetes_schema(every_scenario, kube_version):
    """Every scenario's objects validated against that minor's schemas (an object that several scenarios
    render alike is validated once). One Helm major suffices: Helm 3 renders the same objects
    (test_render_and_lint)."""
    errors = [
        f"{scenario.name}: {p}"
        for scenario, m in every_scenario
        for doc in m
        if (p := problem(json.dumps(doc, sort_keys=True), kube_version))
    ]
    assert not errors, f"against Kubernetes {kube_version}:\n" + "\n".join(errors)


@pytest.mark.parametrize("kube_version", [KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[-1]])
def test_objects_no_scenario_renders_match_the_kubernetes_schema(template, kube_version):
    """The config-check hook Job renders only for emqxConfig values the chart cannot check (a rule's SQL),
    which no scenario sets."""
    rule = {"rule_engine.rules.r1.sql": "SELECT * FROM t", "rule_engine.rules.r1.actions": ["console"]}
    job = template({"emqxConfig": rule}).one("Job", "emqx-ee-config-check")
    assert problem(json.dumps(job, sort_keys=True), kube_version) is None


def test_no_template_reads_the_kubernetes_version():
    """Where one did (`.Capabilities.KubeVersion`, in a template or in a scenario's extraObjects), the sweep
    above would have to render with `--kube-version` once per minor."""
    texts = {p.name: p.read_text() for p in (CHART / "templates").rglob("*") if p.is_file()}
    texts |= {s.path.name: s.values_text for s in scenarios()}
    assert [name for name, text in texts.items() if "KubeVersion" in text] == []


def test_kube_version_changes_no_object_across_the_range(helm):
    """Both ends of the supported range render what a render without `--kube-version` renders."""
    plain = comparable(render(helm, {}))
    for kube_version in (KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[-1]):
        assert comparable(render(helm, {}, kube_version=kube_version)) == plain, f"{helm} at {kube_version}"


def test_a_minor_below_the_range_is_refused(helm):
    with pytest.raises(HelmError, match="kubeVersion"):
        render(helm, {}, kube_version="1.26.0")
