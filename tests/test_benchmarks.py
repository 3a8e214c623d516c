"""The benchmarks run as scripts (`python bench/<name>.py`), which puts `bench/` first on
`sys.path`: a module there named like an installed package shadows that package for every
benchmark (`bench/graphql.py` once hid graphql-core, and no benchmark could start Django)."""

from __future__ import annotations

import importlib.machinery
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_no_benchmark_module_shadows_an_importable_module():
    path = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]
    modules = sorted(module.stem for module in BENCH.glob("*.py") if module.stem != "__init__")
    assert "graphql_throughput" in modules
    shadowing = [
        name for name in modules if importlib.machinery.PathFinder.find_spec(name, path) is not None
    ]
    assert shadowing == []


def test_the_check_sees_an_installed_package():
    assert importlib.machinery.PathFinder.find_spec("graphql", sys.path) is not None
