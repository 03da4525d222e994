"""Every rendered object of every scenario is valid for the three newest Kubernetes minors.

Uses kubernetes-validate's bundled OpenAPI schemas offline, in strict mode (unknown fields fail). Objects
of cert-manager's and prometheus-operator's APIs are validated against the openAPIV3Schema of their own
CRDs (their Go modules at CERT_MANAGER_VERSION and PROMETHEUS_OPERATOR_VERSION), with unknown fields
refused as the API server prunes them.
"""

from functools import cache

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from harness.tools import go_module_dir, versions

pytestmark = pytest.mark.unit


def _newest_minors(count: int = 3) -> list[str]:
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split("."))

    return sorted(set(all_versions()), key=key)[-count:]


KUBERNETES_VERSIONS = _newest_minors()


def _closed(schema: dict) -> dict:
    """The CRD schema with additionalProperties false wherever it lists properties (strict like the rest)."""
    out = {k: (_closed(v) if isinstance(v, dict) else v) for k, v in schema.items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = _closed(out[key])
    if "properties" in out:
        out["properties"] = {k: _closed(v) for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    return {k: v for k, v in out.items() if not k.startswith("x-kubernetes")}


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
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            api = f"{crd['spec']['group']}/{version['name']}"
            schemas[(api, crd["spec"]["names"]["kind"])] = _closed(version["schema"]["openAPIV3Schema"])
    return schemas


def validate(doc: dict, kube_version: str) -> None:
    if doc["apiVersion"].split("/")[0] in CRD_SOURCES:
        schema = crd_schemas()[(doc["apiVersion"], doc["kind"])]
        # metadata is the API server's ObjectMeta, not part of the CRD schema
        jsonschema.validate({**doc, "metadata": {}}, {**schema, "properties": {**schema["properties"], "metadata": {}}})
        return
    kubernetes_validate.validate(doc, kube_version, strict=True)


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


def test_three_kubernetes_minors_are_checked():
    assert len(KUBERNETES_VERSIONS) == 3, KUBERNETES_VERSIONS


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_every_object_matches_the_kubernetes_schema(manifests, kube_version):
    errors = []
    for doc in manifests:
        try:
            validate(doc, kube_version)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as err:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {err.message} at {list(err.path)}")
    assert not errors, f"{manifests.source} against Kubernetes {kube_version}:\n" + "\n".join(errors)
