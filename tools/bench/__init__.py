"""The benchmarks (render, rollout, setup): run them with scripts/bench.sh, which sets the import path
(the harness in tests/, this package in tools/) and the venvs."""
