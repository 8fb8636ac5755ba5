"""relay-server's command line beyond the protocol: --version, and RELAY_HOST /
RELAY_PORT in the environment as the defaults of --host / --port (options win)."""
from __future__ import annotations

import os
import re
import subprocess

import pytest


def start(bin_dir, env, *args):
    return subprocess.Popen([str(bin_dir / "relay-server"), "--insecure-plaintext", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def listening_line(process) -> str:
    try:
        return process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_version_is_answered(bin_dir, relay_env):
    result = subprocess.run([str(bin_dir / "relay-server"), "--version"], env=relay_env,
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0
    assert re.match(r"\d+\.\d+\.\d+", result.stdout.strip()), result.stdout


def test_environment_gives_the_defaults_and_options_win(bin_dir, relay_env):
    env = dict(relay_env, RELAY_HOST="127.0.0.2", RELAY_PORT="0")
    line = listening_line(start(bin_dir, env))
    assert re.fullmatch(r"listening on 127\.0\.0\.2:\d+", line), line
    assert not line.endswith(":12345")
    line = listening_line(start(bin_dir, env, "--host", "127.0.0.3", "--port", "0"))
    assert line.startswith("listening on 127.0.0.3:"), line


@pytest.mark.parametrize("option", ["--max-peers", "--room-size", "--max-pending-per-address"])
def test_the_room_limits_are_in_the_help(bin_dir, relay_env, option):
    result = subprocess.run([str(bin_dir / "relay-server"), "--help"], env=relay_env,
                            capture_output=True, text=True, timeout=10)
    assert option in result.stdout
