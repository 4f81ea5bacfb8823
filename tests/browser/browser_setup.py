"""Shared by the browser tests and their fixtures: paths, the Chromium command line, the
CI-aware skip, and starting / stopping a server by PID. (A module of its own, not
conftest.py, so that test files can import it without clashing with other conftests.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("IPYINFLUENCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
SERVER_START_TIMEOUT_S = 90
VIEWPORT = {"width": 1400, "height": 1000}


def require(condition: bool, reason: str) -> None:
    """Skip outside CI; in CI a missing prerequisite is a failure, not a silent skip."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_ok(url: str) -> bool:
    try:
        with _NO_PROXY.open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def children_of(pid: int) -> list[int]:
    """Direct child PIDs (the kernels a Jupyter server started), from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return (Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]) != "Z"
    except OSError:
        return False


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    url: str  # base URL, no trailing slash
    token: str
    log: Path

    def with_token(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}" if self.token else f"{self.url}{path}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the server's PID (it shuts its kernels down), then SIGKILL by PID for
        anything of ours still alive: the server and the kernels it had started."""
        if self.proc.poll() is None:
            kernels = children_of(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            deadline = time.monotonic() + 10
            while any(alive(k) for k in kernels) and time.monotonic() < deadline:
                time.sleep(0.2)
            for k in kernels:
                if alive(k):
                    os.kill(k, signal.SIGKILL)


def start_server(name: str, cmd: list[str], cwd: Path, env: dict[str, str], ready_url: str, url: str,
                 token: str) -> Server:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"{name}.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    server = Server(name, proc, url, token, log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} while starting:\n{server.log_tail()}")
        if http_ok(ready_url):
            return server
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"{name} did not answer {ready_url} within {SERVER_START_TIMEOUT_S}s:\n{server.log_tail()}")
