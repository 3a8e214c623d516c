"""The Procfile, the one place that says how each process starts.

`make run` runs it with honcho; the image and docker-compose.yml run the same commands with the
container's addresses (tests/test_deployment.py holds them to that); the end-to-end tests start
their worker, beat and Flower from it. Its commands go through `sh`, so they may use
`${NAME:-default}`; `expand` substitutes those the way `sh` does.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"

_DEFAULTED = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):-(?P<default>[^}]*)\}")


def commands() -> dict[str, str]:
    """Process type -> command line, as written in the Procfile."""
    found = {}
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        assert sep, f"not a Procfile line: {line!r}"
        found[name.strip()] = command.strip()
    return found


def expand(command: str, env: Mapping[str, str]) -> str:
    """`${NAME:-default}` -> the value of NAME in `env` when set and not empty, else the default.

    Only the names in `env` are substituted; any other `${...}` is left as written, so a caller
    can fill in some variables (the container's addresses) and compare the rest textually.
    """

    def substitute(match: re.Match) -> str:
        name = match["name"]
        if name not in env:
            return match[0]
        return env[name] or match["default"]

    return _DEFAULTED.sub(substitute, command)


def argv(process: str, env: Mapping[str, str]) -> list[str]:
    """The Procfile's command of `process`, expanded with `env` and split as `sh` would."""
    return shlex.split(expand(commands()[process], env))
