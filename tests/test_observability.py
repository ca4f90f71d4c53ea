"""Request ids, structured logs, and the health endpoints."""

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpline import create_app
from helpline.observability import JsonFormatter, RequestIdFilter
from helpline.testing import HelplineClient, TestUser


async def test_every_response_carries_a_request_id(client: HelplineClient) -> None:
    first = await client.http.get("/healthz")
    second = await client.http.get("/healthz")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client: HelplineClient) -> None:
    kept = await client.http.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42"})
    assert kept.headers["x-request-id"] == "lb-7f3a:42"
    replaced = await client.http.get("/healthz", headers={"X-Request-ID": "evil\r\nSet-Cookie: x"[:20]})
    assert replaced.headers["x-request-id"] != "evil"
    assert len(replaced.headers["x-request-id"]) == 32


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_logs_written_during_a_request_carry_its_id(
    client: HelplineClient, admin: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpline.schema import types

    def broken(*_args: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(types, "encode_id", broken)
    collector = Collect()
    logger = logging.getLogger("helpline.graphql")
    logger.addHandler(collector)
    try:
        response = await client.http.post(
            "/graphql",
            json={"query": "{ viewer { id } }"},
            headers={"Authorization": f"Bearer {admin.token}", "X-Request-ID": "req-123"},
        )
    finally:
        logger.removeHandler(collector)
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert [record.request_id for record in collector.records] == ["req-123"]  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(collector.records[0]))
    assert line["request_id"] == "req-123" and line["level"] == "error" and "boom" in line["exception"]


async def test_readyz_when_the_database_is_set_up(client: HelplineClient) -> None:
    response = await client.http.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


async def test_readyz_refuses_when_the_tables_are_missing(tmp_path: Path) -> None:
    app = create_app(plugins=[], database_url=f"sqlite://{tmp_path}/empty.db", create_schema=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://helpline.test") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
