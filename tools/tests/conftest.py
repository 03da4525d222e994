"""Fixtures of the tooling tests: the chart's render fixtures (harness.fixtures), which test_helm_batch compares
the batch programs with."""

from harness.fixtures import every_scenario, helm4, manifests, pytest_generate_tests, template  # noqa: F401
