"""scripts/install-shell-support.sh: completion scripts generated from the argument
parser for both executables, installed under a prefix (the manual pages need a release
build, so this test skips them with --no-manual)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_completions_are_installed_for_both_executables(bin_dir, tmp_path):
    env = dict(os.environ, RELAY_BIN_DIR=str(bin_dir))
    result = subprocess.run([str(ROOT / "scripts/install-shell-support.sh"), "--prefix", str(tmp_path), "--no-manual"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for tool, option in [("relay-server", "--max-pending-per-address"), ("relay-client", "--connect-timeout")]:
        bash = (tmp_path / "share/bash-completion/completions" / tool).read_text()
        assert option in bash, f"{tool}'s bash completion should offer {option}"
        assert (tmp_path / "share/zsh/site-functions" / f"_{tool}").read_text().startswith("#compdef")
        assert option.lstrip("-") in (tmp_path / "share/fish/vendor_completions.d" / f"{tool}.fish").read_text()


def test_an_unknown_option_is_refused(tmp_path):
    result = subprocess.run([str(ROOT / "scripts/install-shell-support.sh"), "--frobnicate"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 64 and "unknown option" in result.stderr
