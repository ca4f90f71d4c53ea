"""Run the real ``helpline`` console script in subprocesses: one-shot commands and a live server.

Everything here is synchronous and bounded: every wait has a generous deadline (the suite must pass
on a busy 2-core machine) and nothing asserts on how long anything took. A server's output is
drained by a thread, so the child never blocks on a full pipe, and a server is always killed when
its ``with`` block ends, whatever happened inside.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

# The console script installed next to this interpreter, so ``main()`` (with its settings and
# error handling) runs exactly as it does for users. The package has no ``__main__`` module.
HELPLINE = Path(sys.executable).parent / "helpline"
REPOSITORY = Path(__file__).resolve().parents[2]

COMMAND_TIMEOUT = 120.0  # one CLI command: imports, opening the database, the work
START_TIMEOUT = 120.0  # a server: imports, database, bootstrap, binding the port
STOP_TIMEOUT = 60.0  # a server's graceful shutdown after a signal
TOKEN_LINE = re.compile(r"^\s+(hl_[A-Za-z0-9_-]+)\s*$")
FIRST_ADMIN_LINE = "Created the first admin"
SERVING_LINE = "Helpline on http://"


def helpline_env(database_url: str | None, **settings: str) -> dict[str, str]:
    """The child's environment: ours without any ``HELPLINE_*`` variable, plus the given settings.

    ``settings`` are setting names (``port="abc"``) that become ``HELPLINE_PORT=abc``.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("HELPLINE_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    if database_url is not None:
        env["HELPLINE_DATABASE_URL"] = database_url
    env.update({f"HELPLINE_{name.upper()}": value for name, value in settings.items()})
    return env


def run_helpline(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``helpline ARGS`` to completion and return its exit code and output."""
    return subprocess.run(
        [str(HELPLINE), *args],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def plugin_site(folder: Path, name: str, module: str, *extra_paths: Path) -> dict[str, str]:
    """Make child processes load ``module`` as the plugin ``name``; return the ``PYTHONPATH`` to give them.

    Writes a minimal distribution (``METADATA`` and an entry point in the ``helpline.plugins``
    group) into ``folder``, so the plugin is found exactly as an installed one is. ``module`` must be
    importable from ``extra_paths`` (the repository root, by default).
    """
    distribution = f"helpline-{name.replace('_', '-')}"
    dist_info = folder / f"{distribution.replace('-', '_')}-0.1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[helpline.plugins]\n{name} = {module}\n")
    paths = [folder, *(extra_paths or (REPOSITORY,))]
    return {"PYTHONPATH": os.pathsep.join(str(path) for path in paths)}


def free_port() -> int:
    """A loopback port nobody listens on right now (the server retries if someone takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """One ``helpline serve`` child process and everything it printed (stdout and stderr merged)."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"helpline-{self.process.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)  # end of output: the process closed its stdout

    @property
    def text(self) -> str:
        """Everything the process printed so far."""
        return "".join(self.output)

    def describe(self) -> str:
        """The exit code (if any) and the output, for assertion messages."""
        return f"exit code {self.process.poll()}; output:\n{self.text}"

    def lines_until(self, predicate: Callable[[str], bool], timeout: float) -> list[str]:
        """Read lines until one satisfies ``predicate``; return them all (that one last).

        Fails when the output ends first (the process exited) or the deadline passes.
        """
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"gave up waiting for a line after {timeout:.0f}s; {self.describe()}")
            try:
                line = self._lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=STOP_TIMEOUT)
                self._lines.put(None)  # later readers see the end too
                raise AssertionError(f"the process ended before the expected line; {self.describe()}")
            seen.append(line)
            if predicate(line):
                return seen

    def wait_until_answering(self, base_url: str, timeout: float) -> None:
        """Poll ``GET /healthz`` until the server answers 200, the process dies or the deadline passes."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=base_url, timeout=5.0) as http:
            while True:
                if self.process.poll() is not None:
                    self._reader.join(timeout=STOP_TIMEOUT)
                    raise AssertionError(f"the server exited before answering; {self.describe()}")
                try:
                    if http.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    raise AssertionError(f"the server did not answer within {timeout:.0f}s; {self.describe()}")
                time.sleep(0.1)

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` and wait (bounded) for the process to exit; return its exit code.

        A negative code means the process ended by re-raising the signal (``-SIGTERM``).
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the server ignored {sig.name} for {timeout:.0f}s; {self.describe()}") from None
        self._reader.join(timeout=timeout)
        return code

    def kill(self) -> None:
        """Kill the process if it still runs and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=STOP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Server:
    """A started ``helpline serve``: where it listens, the first admin's token if it printed one."""

    def __init__(self, process: ServerProcess, port: int, admin_token: str | None) -> None:
        self.process = process
        self.port = port
        self.admin_token = admin_token

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        """Stop gracefully with ``sig``; return the exit code."""
        return self.process.stop(sig)


def _parse_startup(lines: list[str]) -> tuple[bool, str | None]:
    """Whether the first-admin banner appeared in ``lines``, and the token it showed."""
    announced = any(FIRST_ADMIN_LINE in line for line in lines)
    tokens = [match.group(1) for line in lines if (match := TOKEN_LINE.match(line))]
    assert len(tokens) <= 1, f"more than one token printed: {lines}"
    return announced, tokens[0] if tokens else None


@contextlib.contextmanager
def serve(
    database_url: str,
    cwd: Path,
    *extra_args: str,
    attempts: int = 3,
    env: Mapping[str, str] | None = None,
    **settings: str,
) -> Iterator[Server]:
    """Start ``helpline serve`` on a free loopback port and wait until it answers; kill it on exit.

    ``env`` adds other environment variables (``PYTHONPATH`` for a test plugin, say).

    Reads the output up to the "Helpline on http://..." line, which serve prints after creating the
    first admin (so the token, when there is one, comes before it). When the port was taken between
    choosing and binding it, starts again on another one (keeping a token printed by an earlier try).
    """
    admin_token: str | None = None
    announced = False
    for attempt in range(1, attempts + 1):
        port = free_port()
        args = [str(HELPLINE), "serve", "--host", "127.0.0.1", "--port", str(port), *extra_args]
        process = ServerProcess(args, cwd, {**helpline_env(database_url, **settings), **(env or {})})
        try:
            startup = process.lines_until(lambda line: line.startswith(SERVING_LINE), START_TIMEOUT)
            now_announced, token = _parse_startup(startup)
            assert now_announced == (token is not None), f"banner and token disagree: {startup}"
            announced, admin_token = announced or now_announced, admin_token or token
            assert f"127.0.0.1:{port}/graphql" in startup[-1], startup[-1]
            try:
                process.wait_until_answering(f"http://127.0.0.1:{port}", START_TIMEOUT)
            except AssertionError:
                if attempt < attempts and "address already in use" in process.text:
                    process.kill()
                    continue
                raise
            yield Server(process, port, admin_token)
            return
        finally:
            process.kill()  # always: a no-op after a graceful stop
    raise AssertionError("unreachable")  # pragma: no cover


def graphql(
    http: httpx.Client, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """POST one operation over real HTTP; return the whole JSON body (``data`` and ``errors``)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()  # type: ignore[no-any-return]


def graphql_data(
    http: httpx.Client, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """POST and return ``data``; fail with the errors if there were any."""
    body = graphql(http, query, variables, token)
    assert not body.get("errors"), body["errors"]
    return body["data"]  # type: ignore[no-any-return]
