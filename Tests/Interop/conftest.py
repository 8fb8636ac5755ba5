"""Shared fixtures of the interoperability suite: the built executables, an isolated
environment, and relay-server / relay-client processes that are always stopped.

- ``bin_dir``: RELAY_BIN_DIR, else ``swift build --show-bin-path``.
- ``relay_env``: the environment with HOME, XDG_STATE_HOME and XDG_CONFIG_HOME in a tmp
  dir, so no test reads or writes the real home (TLS identities, known_servers).
- ``relay_server(*args)``: a context manager; starts relay-server with ``--port 0``, waits
  for ``listening on HOST:PORT`` and yields a ``RelayProcess`` with ``host``/``port``;
  stops it by pid at the end.
- ``relay_client(*args, name=...)``: a context manager; relay-client with stdin piped.
  It runs with ``--trust-relay`` (the section 3 and 5 behaviour the older suites test)
  unless ``e2e=True`` or ``--legacy`` is among the arguments.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_TIMEOUT = 10.0
LISTENING = re.compile(r"^listening on (.+):(\d+)$")


class LineCollector:
    """Reads a pipe line by line on a thread; tests wait for lines as events."""

    def __init__(self, pipe):
        self.lines: list[str] = []
        self.closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self._thread.start()

    def _run(self, pipe) -> None:
        try:
            for raw in iter(pipe.readline, b""):
                with self._condition:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self._condition.notify_all()
        except (OSError, ValueError):  # the pipe was closed under us (a process stopped early)
            pass
        with self._condition:
            self.closed = True
            self._condition.notify_all()

    def wait_for(self, predicate, timeout: float = WAIT_TIMEOUT, start: int = 0) -> str:
        """The first line from index ``start`` on that matches; fails after ``timeout``."""
        if isinstance(predicate, str):
            needle = predicate
            predicate = lambda line: needle in line  # noqa: E731
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for line in self.lines[start:]:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    raise AssertionError(f"no matching line; got {self.lines!r}")
                self._condition.wait(remaining)

    def wait_matching(self, needle: str, count: int, timeout: float = WAIT_TIMEOUT) -> list[str]:
        """Waits until ``count`` lines contain ``needle``; returns them."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [line for line in self.lines if needle in line]
                remaining = deadline - time.monotonic()
                if len(found) >= count:
                    return found
                if self.closed or remaining <= 0:
                    raise AssertionError(f"expected {count} lines with {needle!r}, got {found!r}")
                self._condition.wait(remaining)

    def wait_count(self, count: int, timeout: float = WAIT_TIMEOUT) -> list[str]:
        """Waits until at least ``count`` lines arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.lines) < count:
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    raise AssertionError(f"expected {count} lines, got {len(self.lines)}: {self.lines[-5:]!r}")
                self._condition.wait(remaining)
            return list(self.lines)

    def join(self, timeout: float = WAIT_TIMEOUT) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        with self._condition:
            return "\n".join(self.lines)


class RelayProcess:
    """A started executable with its output collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str], stdin=subprocess.DEVNULL,
                 stdout=subprocess.PIPE):
        self.argv = argv
        self.proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=stdout,
                                     stderr=subprocess.PIPE, cwd=env.get("HOME"))
        self.pid = self.proc.pid
        # stdout=subprocess.DEVNULL for floods a test does not read (no collector then).
        self.stdout = LineCollector(self.proc.stdout) if stdout == subprocess.PIPE else None
        self.stderr = LineCollector(self.proc.stderr)
        self.host: str | None = None
        self.port: int | None = None

    def send_line(self, text: str | bytes) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def feed_stdin(self, data: bytes) -> threading.Thread:
        """Writes ``data`` to standard input and closes it, on a thread (the process may
        stop reading while its output is held back)."""
        def run() -> None:
            with contextlib.suppress(OSError, ValueError):  # the process gone or stopped
                self.proc.stdin.write(data)
                self.proc.stdin.close()
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def close_stdin(self) -> None:
        self.proc.stdin.close()

    def wait(self, timeout: float = WAIT_TIMEOUT) -> int:
        """Waits for exit and for both pipes to be read to their end; returns the status."""
        code = self.proc.wait(timeout)
        for collector in (self.stdout, self.stderr):
            if collector is not None:
                collector.join()
        return code

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM by pid, then SIGKILL if it does not exit within a few seconds."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Let the collectors read to the end first (a grandchild could hold a pipe open:
        # then the join times out and closing the pipe ends them).
        for collector in (self.stdout, self.stderr):
            if collector is not None:
                collector.join(2)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    configured = os.environ.get("RELAY_BIN_DIR")
    if configured:
        path = Path(configured)
    else:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO_ROOT, check=True,
                             capture_output=True, text=True, timeout=120)
        path = Path(out.stdout.strip())
    for executable in ("relay-server", "relay-client"):
        assert (path / executable).is_file(), f"{executable} is not built in {path}; run swift build"
    return path


@pytest.fixture
def relay_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    for sub in ("state", "config"):
        (home / sub).mkdir(parents=True)
    env = dict(os.environ)
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"))
    return env


@pytest.fixture
def run_tool(bin_dir, relay_env):
    """Runs an executable to its end (for usage errors): returns the CompletedProcess."""
    def run(executable: str, *args: str, timeout: float = WAIT_TIMEOUT, stdin: bytes = b""):
        return subprocess.run([str(bin_dir / executable), *args], env=relay_env, input=stdin,
                              capture_output=True, timeout=timeout, cwd=relay_env["HOME"])
    return run


@pytest.fixture
def relay_server(bin_dir, relay_env):
    """``with relay_server("--insecure-plaintext") as server:`` -> server.host, server.port."""
    started: list[RelayProcess] = []

    @contextlib.contextmanager
    def start(*args: str):
        server = RelayProcess([str(bin_dir / "relay-server"), "--port", "0", *args], relay_env)
        started.append(server)
        try:
            line = server.stdout.wait_for(LISTENING.match)
        except AssertionError:
            server.stop()
            raise AssertionError(f"relay-server did not listen; stderr: {server.stderr.text}") from None
        match = LISTENING.match(line)
        server.host, server.port = match.group(1), int(match.group(2))
        try:
            yield server
        finally:
            server.stop()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def relay_client(bin_dir, relay_env):
    """``with relay_client("--insecure-plaintext", name="alice", port=p) as client:``."""
    started: list[RelayProcess] = []

    @contextlib.contextmanager
    def start(*args: str, name: str, port: int, host: str = "127.0.0.1", stdout=subprocess.PIPE, e2e: bool = False):
        mode = [] if e2e or "--legacy" in args else ["--trust-relay"]
        client = RelayProcess([str(bin_dir / "relay-client"), "--name", name, "--host", host,
                               "--port", str(port), *mode, *args], relay_env, stdin=subprocess.PIPE, stdout=stdout)
        started.append(client)
        try:
            yield client
        finally:
            client.stop()

    yield start
    for client in started:
        client.stop()
