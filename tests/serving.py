"""Run real processes on loopback for tests: the service (`python -m service serve`) and workers.

    with running_service() as url:
        ...  # url is "http://127.0.0.1:<port>"; the service answers GET /health

Each process's stdout and stderr go to a temporary log file (`proc.log_path`, `log_tail`).
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# Settings of the environment that must not leak into a test's processes.
ISOLATED_PREFIXES = ("MONGODB_", "REVIEW_QUEUE_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(env: dict | None = None) -> dict[str, str]:
    """The environment minus our settings, plus `env`; the repository is importable."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    path = [str(ROOT), clean.get("PYTHONPATH", "")]
    clean["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    clean["PYTHONUNBUFFERED"] = "1"
    clean.update({k: str(v) for k, v in (env or {}).items()})
    return clean


def run_python(
    *args: str, timeout: float, env: dict | None = None, input: str | bytes | None = None
) -> subprocess.CompletedProcess:
    """`python *args` from the repository, in process_env(env), to its end: its output
    captured (text unless `input` is bytes), no stdin but `input`."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=process_env(env),
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=not isinstance(input, bytes),
        timeout=timeout,
    )


def start_process(args: list[str], env: dict | None = None) -> subprocess.Popen:
    """Start a process with its output in a temporary log file (its path: `proc.log_path`)."""
    fd, log_path = tempfile.mkstemp(prefix="review-queue-", suffix=".log")
    with os.fdopen(fd, "wb") as log_file:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=process_env(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def log_text(proc: subprocess.Popen) -> str:
    return Path(proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def log_tail(proc: subprocess.Popen, lines: int = 40) -> str:
    return "\n".join(log_text(proc).splitlines()[-lines:])


def stop_process(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> int:
    """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"The service exited with {proc.returncode} while starting:\n{log_tail(proc)}"
            )
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"The service did not answer {url}/health in {timeout}s:\n{log_tail(proc)}")


@contextmanager
def running_service(
    env: dict | None = None,
    *,
    reap_interval: float = 10,
    lease_seconds: int = 600,
    port: int | None = None,
) -> Iterator[str]:
    """A `python -m service serve` on a free loopback port (or `port`); yields its base URL."""
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "service",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--reap-interval",
        str(reap_interval),
        "--lease-seconds",
        str(lease_seconds),
    ]
    proc = start_process(args, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        stop_process(proc)
        Path(proc.log_path).unlink(missing_ok=True)  # type: ignore[attr-defined]
