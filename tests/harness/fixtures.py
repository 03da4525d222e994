"""The render fixtures, shared by the chart's suites (tests/conftest.py) and the tooling's (tools/tests/conftest.py):
which Helm CLIs to render with, and the ci/ scenarios. A conftest imports them by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .helm import Manifests, render, render_many
from .scenarios import Scenario, scenarios
from .tools import Helm
from .tools import helm as helm_cli


def helm_majors(config: pytest.Config) -> list[int]:
    # --helm-majors is an option of tests/conftest.py; a run of tools/tests alone renders with both majors.
    return [int(m) for m in config.getoption("--helm-majors", default="4,3").split(",")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    majors = helm_majors(metafunc.config)
    if "helm" in metafunc.fixturenames:
        metafunc.parametrize("helm", [helm_cli(m) for m in majors], ids=str, scope="session")
    if "other_helm" in metafunc.fixturenames:
        others = [helm_cli(m) for m in majors if m != 4]
        metafunc.parametrize("other_helm", others, ids=str, scope="session")
    if "scenario" in metafunc.fixturenames:
        metafunc.parametrize("scenario", scenarios(), ids=lambda s: s.name)


@pytest.fixture(scope="session")
def helm4() -> Helm:
    """Helm 4, which renders for every test that does not take `helm`."""
    return helm_cli(4)


@pytest.fixture(scope="session")
def template(helm4: Helm) -> Callable[..., Manifests]:
    """render() with Helm 4."""

    def _render(values: dict[str, Any] | None = None, **kwargs: Any) -> Manifests:
        return render(helm4, values, **kwargs)

    return _render


@pytest.fixture
def manifests(helm4: Helm, scenario: Scenario) -> Manifests:
    """The Helm 4 render of one ci/ scenario (rendered once per session)."""
    return render(helm4, scenario.values)


@pytest.fixture(scope="session")
def every_scenario(helm4: Helm) -> list[tuple[Scenario, Manifests]]:
    """Every ci/ scenario with its Helm 4 render, for a property that must hold in all of them: one test
    checks every render, so that its id stands for one fact however few scenarios vary what it reads."""
    found = scenarios()
    return list(zip(found, render_many(helm4, [s.values for s in found]), strict=True))
