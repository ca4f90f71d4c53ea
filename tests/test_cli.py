"""The ``helpline`` command as users run it: the installed console script in a subprocess.

Running the real script exercises ``main()`` (settings from the environment, plugin loading, its
error handling) and click's exit codes, which in-process ``CliRunner`` calls skip. Each test runs
in an empty temporary folder on a fresh database (a throwaway PostgreSQL schema when
HELPLINE_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpline import testing
from helpline.config import Settings
from helpline.core.plugins import load_plugins
from helpline.schema.compose import export_sdl
from tests.e2e.processes import helpline_env, run_helpline

TOKEN_LINE = re.compile(r"^\s+(hl_[A-Za-z0-9_-]+)\s*$", re.MULTILINE)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh database for the CLI processes (dropped afterwards on PostgreSQL)."""
    async with testing.test_database() as url:  # imported as a module: pytest would collect it
        yield url


def printed_tokens(output: str) -> list[str]:
    """The API tokens in a command's output (each on a line of its own)."""
    return TOKEN_LINE.findall(output)


async def viewer_of_token(database_url: str, token: str) -> dict[str, str]:
    """Authenticate ``token`` against the database through an in-process app; return the viewer."""
    async with testing.running_app(database_url=database_url) as client:
        data = await client.data("{ viewer { email role } }", token=token)
    return data["viewer"]  # type: ignore[no-any-return]


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code 1, an ``Error: ...`` line naming ``fragments`` on stderr, and no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def test_init_prints_a_token_once_and_refuses_a_second_time(database_url: str, tmp_path: Path) -> None:
    env = helpline_env(database_url)
    first = run_helpline("init", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "Created the first admin, admin@example.com" in first.stdout
    [token] = printed_tokens(first.stdout)
    assert first.stdout.count(token) == 1
    assert asyncio.run(viewer_of_token(database_url, token)) == {"email": "admin@example.com", "role": "ADMIN"}

    second = run_helpline("init", cwd=tmp_path, env=env)
    assert_clean_failure(second, "an admin exists already", "helpline token create")
    assert printed_tokens(second.stdout + second.stderr) == []
    assert second.stdout == ""


def test_init_with_the_defaults_creates_helpline_db_in_the_working_folder(tmp_path: Path) -> None:
    result = run_helpline("init", "--email", "Boss@Example.com", "--name", "Boss", cwd=tmp_path, env=helpline_env(None))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "helpline.db").is_file()
    [token] = printed_tokens(result.stdout)
    viewer = asyncio.run(viewer_of_token(f"sqlite://{tmp_path / 'helpline.db'}", token))
    assert viewer == {"email": "boss@example.com", "role": "ADMIN"}


def test_the_database_url_option_wins_over_the_environment(database_url: str, tmp_path: Path) -> None:
    env = helpline_env("sqlite:///nonexistent-folder/never.db")
    result = run_helpline("--database-url", database_url, "init", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    [token] = printed_tokens(result.stdout)
    assert asyncio.run(viewer_of_token(database_url, token))["role"] == "ADMIN"


def test_token_create_mints_a_working_token_for_an_existing_person(database_url: str, tmp_path: Path) -> None:
    env = helpline_env(database_url)
    init = run_helpline("init", cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stderr
    [first_token] = printed_tokens(init.stdout)

    result = run_helpline("token", "create", "--email", "admin@example.com", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    minted = result.stdout.strip()
    assert minted.startswith("hl_")
    assert minted != first_token
    assert asyncio.run(viewer_of_token(database_url, minted)) == {"email": "admin@example.com", "role": "ADMIN"}
    # E-mail addresses are matched case-insensitively, and the first token keeps working.
    again = run_helpline("token", "create", "--email", "ADMIN@example.com", "--name", "laptop", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert asyncio.run(viewer_of_token(database_url, first_token))["email"] == "admin@example.com"


def test_token_create_for_an_unknown_person_fails_clearly(database_url: str, tmp_path: Path) -> None:
    env = helpline_env(database_url)
    assert run_helpline("init", cwd=tmp_path, env=env).returncode == 0
    result = run_helpline("token", "create", "--email", "nobody@x.com", cwd=tmp_path, env=env)
    assert_clean_failure(result, "no active user with e-mail nobody@x.com")
    assert result.stdout == ""


def test_plugins_lists_the_core_plugin(database_url: str, tmp_path: Path) -> None:
    env = helpline_env(database_url)
    result = run_helpline("plugins", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^core \S+ \(essential\)$", result.stdout, re.MULTILINE), result.stdout
    assert "    helpline_register_models" in result.stdout

    as_json = run_helpline("plugins", "--json", cwd=tmp_path, env=env)
    assert as_json.returncode == 0, as_json.stderr
    by_name = {info["name"]: info for info in json.loads(as_json.stdout)}
    assert by_name["core"]["source"] == "essential"
    assert "helpline_register_models" in by_name["core"]["hooks"]


def test_schema_export_writes_the_sdl_to_a_file(database_url: str, tmp_path: Path) -> None:
    env = helpline_env(database_url)
    result = run_helpline("schema", "export", "-o", "schema.graphql", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    written = (tmp_path / "schema.graphql").read_text(encoding="utf-8")
    assert "type Query {" in written
    assert "type Ticket {" in written
    assert "createTicket(input: CreateTicketInput!): TicketPayload!" in written

    to_stdout = run_helpline("schema", "export", cwd=tmp_path, env=env)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout == written
    # The same SDL the library exports for the same (default: every installed) plugins.
    assert written == export_sdl(load_plugins(None), Settings())


BAD_SETTINGS = [
    pytest.param(["plugins"], {"port": "abc"}, ["port must be a whole number", "'abc'"], id="port-not-a-number"),
    pytest.param(["plugins"], {"port": "0"}, ["port must be positive"], id="port-zero"),
    pytest.param(["plugins"], {"plugins": "nonexistent"}, ["unknown plugin", "nonexistent"], id="unknown-plugin"),
    pytest.param(
        ["plugins"], {"agents_see_all_tickets": "maybe"}, ["agents_see_all_tickets must be true or false"], id="bool"
    ),
    pytest.param(["plugins"], {"config": "missing.toml"}, ["config file missing.toml does not exist"], id="no-config"),
    # serve and init must refuse before opening the database, binding a port or printing a token.
    pytest.param(["serve"], {"port": "abc"}, ["port must be a whole number"], id="serve-port-not-a-number"),
    pytest.param(["serve"], {"plugins": "nonexistent"}, ["unknown plugin", "nonexistent"], id="serve-unknown-plugin"),
    pytest.param(["init"], {"max_page_size": "-5"}, ["max_page_size must be positive"], id="init-negative-size"),
    pytest.param(
        ["plugins"],
        {"port": "70000"},
        ["port"],
        id="port-out-of-range",
    ),
    pytest.param(
        ["plugins"],
        {"log_level": "bogus"},
        ["log_level"],
        id="unknown-log-level",
    ),
]


@pytest.mark.parametrize(("command", "settings", "fragments"), BAD_SETTINGS)
def test_a_bad_setting_is_named_with_exit_code_1_and_no_traceback(
    database_url: str, tmp_path: Path, command: list[str], settings: dict[str, str], fragments: list[str]
) -> None:
    result = run_helpline(*command, cwd=tmp_path, env=helpline_env(database_url, **settings))
    assert_clean_failure(result, *fragments)
    assert result.stdout == ""
    assert not (tmp_path / "helpline.db").exists()


@pytest.mark.parametrize(
    "url",
    ["nonsense://somewhere", "sqlite:///nonexistent-folder/helpline.db"],
    ids=["unknown-scheme", "unopenable-sqlite-file"],
)
def test_an_unusable_database_url_is_a_clear_error(tmp_path: Path, url: str) -> None:
    result = run_helpline("init", cwd=tmp_path, env=helpline_env(url))
    assert_clean_failure(result, "database")


def test_a_broken_helpline_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "helpline.toml").write_text("port = \n", encoding="utf-8")
    assert_clean_failure(run_helpline("plugins", cwd=tmp_path, env=helpline_env(None)), "helpline.toml")

    (tmp_path / "helpline.toml").write_text("prot = 8080\n", encoding="utf-8")
    assert_clean_failure(run_helpline("plugins", cwd=tmp_path, env=helpline_env(None)), "unknown setting", "prot")


def test_serve_on_a_busy_port_fails_before_touching_anything(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_helpline("serve", "--port", str(port), cwd=tmp_path, env=helpline_env(None))
    assert_clean_failure(result, "cannot listen", str(port))
    assert printed_tokens(result.stdout) == []
    assert not (tmp_path / "helpline.db").exists()


def test_a_mistyped_setting_does_not_stop_help(tmp_path: Path) -> None:
    result = run_helpline("--help", cwd=tmp_path, env=helpline_env(None, plugins="nonexistent"))
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout


def test_worker_runs_until_told_to_stop(database_url: str, tmp_path: Path) -> None:
    import signal
    import sys

    from tests.e2e.processes import ServerProcess

    command = [str(Path(sys.executable).parent / "helpline"), "worker"]
    worker = ServerProcess(command, cwd=tmp_path, env=helpline_env(database_url))
    try:
        lines = worker.lines_until(lambda line: line.startswith("Helpline worker:"), timeout=60)
        assert "sla.deadlines" in lines[-1]  # every built-in plugin is on: their jobs are listed
        assert worker.stop(signal.SIGTERM) == 0, worker.describe()
        assert "Helpline worker stopped." in worker.text
        assert "Traceback" not in worker.text
    finally:
        worker.kill()
