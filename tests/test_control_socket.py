"""Two gunicorns of one machine user keep a control socket each (`gunicorn.conf.py`).

gunicorn 27's default control socket is one path per user: a second server took it over from
the first, and whichever stopped first removed the other's. Started as the Procfile starts the
web process (and so the image and compose, which run the same command), each server's socket is
`var/gunicorn-<port>.ctl`, answers `gunicornc` about that server alone, and outlives the other.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import procfile
from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def start(var_dir: Path, port: int, *extra: str) -> subprocess.Popen:
    program, *args = procfile.argv("web", {"WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)})
    assert program == "gunicorn"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(var_dir.parent / "home"),  # where gunicorn's shared default would be
        "JOBBOARD_VAR_DIR": str(var_dir),
        "DJANGO_DEBUG": "true",
    }
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), *args, "--workers", "1", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def arbiter_pid(socket_path: Path) -> int:
    """The pid of the server behind the socket, asked through `gunicornc`."""
    deadline = time.monotonic() + 10
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # the control server starts once the workers are spawned
    answer = subprocess.run(
        [str(BIN / "gunicornc"), "-s", str(socket_path), "-c", "show workers", "-j"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    workers = json.loads(answer.stdout)["workers"]
    assert workers, answer.stdout
    return {int(Path(f"/proc/{w['pid']}/stat").read_text().split()[3]) for w in workers}.pop()


def test_two_servers_each_keep_their_own_control_socket(tmp_path):
    var_dir = tmp_path / "var"
    first_port, second_port = free_port(), free_port()
    first = start(var_dir, first_port)
    try:
        second = start(var_dir, second_port)
        try:
            first_socket = var_dir / f"gunicorn-{first_port}.ctl"
            second_socket = var_dir / f"gunicorn-{second_port}.ctl"
            assert arbiter_pid(first_socket) == first.pid
            assert arbiter_pid(second_socket) == second.pid
            assert not (tmp_path / "home" / ".gunicorn" / "gunicorn.ctl").exists()
        finally:
            stop(second)
        assert not second_socket.exists()  # cleaned up by its own server only
        assert arbiter_pid(first_socket) == first.pid
    finally:
        stop(first)


def test_the_command_line_still_chooses(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    server = start(var_dir, port, "--no-control-socket")
    try:
        time.sleep(1)
        assert not list(var_dir.glob("gunicorn-*.ctl"))
    finally:
        stop(server)
