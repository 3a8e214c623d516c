"""gunicorn's settings file: read from the working directory by every gunicorn started here (the
Procfile's `make run`, the image and compose, the tests' and benchmarks' servers).

gunicorn 27 keeps a control socket for `gunicornc` at one default path per machine user
(`$XDG_RUNTIME_DIR/gunicorn.ctl`, else `~/.gunicorn/gunicorn.ctl`). A second gunicorn of the same
user (a second deployment, `make run PORT=8123`, a test server) unlinks the first one's socket
and binds its own there, and whichever stops first removes the other's. Here each run gets its
own, under the local state folder and named by the port it serves:
`var/gunicorn-8000.ctl` (`$JOBBOARD_VAR_DIR`), so `gunicornc -s var/gunicorn-8000.ctl` reaches
that server. A `--control-socket PATH` or `--no-control-socket` on the command line wins.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def control_socket_path(bind: list[str], var_dir: str | None) -> str:
    """The socket of a server listening on `bind`: `gunicorn-<port>[-<port>...].ctl` in var/."""
    folder = Path(var_dir or Path(__file__).resolve().parent / "var")
    names = [re.sub(r"[^A-Za-z0-9.]+", "_", address.rpartition(":")[2]) for address in bind]
    return str(folder / f"gunicorn-{'-'.join(names) or os.getpid()}.ctl")


def on_starting(server) -> None:
    cfg = server.cfg
    if cfg.control_socket_disable or cfg.control_socket != cfg.settings["control_socket"].default:
        return  # chosen on the command line
    path = control_socket_path(cfg.bind, os.environ.get("JOBBOARD_VAR_DIR"))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cfg.set("control_socket", path)
    server.log.info("Control socket: %s (gunicornc -s %s)", path, path)
