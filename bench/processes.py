"""Processes the benchmarks start and stop (one way, for every script)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_gunicorn(process: subprocess.Popen) -> None:
    """Stop a gunicorn started in a session of its own; kill its group if it lingers."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
