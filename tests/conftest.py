"""Shared fixtures: which Helm CLIs to render with, and the ci/ scenarios every sweep runs over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.helm import Manifests, render
from harness.scenarios import Scenario, scenarios
from harness.tools import Helm
from harness.tools import helm as helm_cli


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--helm-majors",
        default="4,3",
        help="Helm major versions the render suite runs under (comma separated, default: 4,3)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "helm" in metafunc.fixturenames:
        majors = [int(m) for m in metafunc.config.getoption("--helm-majors").split(",")]
        metafunc.parametrize("helm", [helm_cli(m) for m in majors], ids=lambda h: str(h), scope="session")
    if "scenario" in metafunc.fixturenames:
        metafunc.parametrize("scenario", scenarios(), ids=lambda s: s.name)


@pytest.fixture(scope="session")
def helm4() -> Helm:
    """Helm 4 alone, for what Helm 3 cannot do without a cluster (NOTES from a client-only dry run)."""
    return helm_cli(4)


@pytest.fixture
def template(helm: Helm) -> Callable[..., Manifests]:
    """render() bound to the Helm CLI of this test."""

    def _render(values: dict[str, Any] | None = None, **kwargs: Any) -> Manifests:
        return render(helm, values, **kwargs)

    return _render


@pytest.fixture
def manifests(helm: Helm, scenario: Scenario) -> Manifests:
    """The render of one ci/ scenario (rendered once per session and Helm CLI)."""
    return render(helm, scenario.values)
