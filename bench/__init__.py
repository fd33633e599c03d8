"""Ratio benchmarks: each measures the app's real workload against a baseline run in the same process,
so the figure does not depend on the machine. Run from the repository root, e.g.
``.venv/bin/python -m bench.store``."""
