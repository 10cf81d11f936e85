"""Every admin operation's reply has a model in the document, and real replies fit it (SPEC §8)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from tests.server.conftest import ADMIN, new_player

ERROR = {"$ref": "#/components/schemas/ErrorReply"}


def admin_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The JSON admin operations of the document (the admin socket is not JSON)."""
    return {
        (method.upper(), path): item
        for path, methods in document["paths"].items()
        if path.startswith("/api/admin/") and path != "/api/admin/ws"
        for method, item in methods.items()
    }


class Tour:
    """Admin requests whose replies are checked against the document as they come."""

    def __init__(self, client: TestClient, document: dict[str, Any]) -> None:
        self.client = client
        self.document = document
        self.operations = admin_operations(document)
        self.seen: set[tuple[str, str]] = set()

    def operation(self, method: str, url: str) -> tuple[str, str]:
        path = url.split("?")[0]
        for key in self.operations:
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", key[1])
            if key[0] == method and re.fullmatch(pattern, path):
                return key
        raise AssertionError(f"{method} {path} is not in the document")

    async def call(self, method: str, url: str, body: Any = None, status: int = 200) -> Any:
        response = await self.client.request(method, url, json=body, headers=ADMIN)
        data = await response.json()
        assert response.status == status, data
        key = self.operation(method, url)
        declared = self.operations[key]["responses"][str(status)]
        schema = declared["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": self.document["components"]})
        problems = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)]
        assert problems == [], (key, status, problems)
        self.seen.add(key)
        return data


async def document_of(client: TestClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    return await response.json()


async def test_every_admin_operation_declares_its_reply_and_errors(client: TestClient) -> None:
    """Each admin operation names a reply model for each success status and the SPEC's error
    shape for each refusal status it lists, 401 among them."""
    for key, item in admin_operations(await document_of(client)).items():
        responses = item["responses"]
        assert "401" in responses, key
        for status, declared in responses.items():
            schema = declared["content"]["application/json"]["schema"]
            if status.startswith("2"):
                assert schema.get("$ref", "").startswith("#/components/schemas/"), (key, status)
                assert schema != ERROR, key
            else:
                assert schema == ERROR, (key, status)


async def test_every_admin_reply_fits_its_model(client: TestClient) -> None:
    """An operator's tour through every admin operation gets replies that fit the document:
    players, actions, a batch, bulk jobs, interventions, the audit, rounds, pause, figures."""
    tour = Tour(client, await document_of(client))
    _, alice = await new_player(client, "Alice")
    _, bob = await new_player(client, "Bob")
    a, b = alice["id"], bob["id"]

    listing = await tour.call("GET", "/api/admin/players?sort=name&order=asc&status=active")
    assert [row["name"] for row in listing["players"]] == ["Alice", "Bob"]
    await tour.call("GET", f"/api/admin/players/{a}")
    patched = await tour.call("PATCH", f"/api/admin/players/{a}", {"name": "Alicia", "reason": "r"})
    assert patched["player"]["name"] == "Alicia"
    banned = await tour.call("POST", f"/api/admin/players/{b}/actions/ban", {"reason": "bot"})
    assert banned["revoked"] == 0
    await tour.call("POST", f"/api/admin/players/{b}/actions/unban", {"reason": "sorry"})
    kicked = await tour.call("POST", f"/api/admin/players/{b}/actions/kick", {"reason": "k"})
    assert kicked["kicked"] is True
    actions = await tour.call("GET", f"/api/admin/players/{b}/actions")
    assert [e["action"] for e in actions["entries"]] == ["kick", "unban", "ban"]
    operations = [
        {"action": "reset_score", "player_id": a, "reason": "r"},
        {"action": "patch", "player_id": b, "reason": "r", "planet": "mars"},
    ]
    result = await tour.call("POST", "/api/admin/batch", {"operations": operations})
    assert result["applied"] == 2

    body = {"action": "ban", "reason": "wave", "filter": {"search": "Alicia"}}
    dry = await tour.call("POST", "/api/admin/bulk", {**body, "dry_run": True})
    assert dry["total"] == 1
    job = await tour.call("POST", "/api/admin/bulk", body, status=201)
    for _ in range(500):  # a one-player job: done in a step or two of the actor
        job = await tour.call("GET", f"/api/admin/bulk/{job['id']}")
        if job["status"] == "done":
            break
        await asyncio.sleep(0.01)
    assert job["status"] == "done"
    await tour.call("GET", "/api/admin/bulk")
    await tour.call("POST", f"/api/admin/bulk/{job['id']}/cancel", {"reason": "stop"}, 409)
    await tour.call("POST", f"/api/admin/bulk/{job['id']}/resume", {"reason": "go"}, 409)

    flag = {"player_id": b, "reason": "odd"}
    case = await tour.call("POST", "/api/admin/interventions", flag, status=201)
    again = await tour.call("POST", "/api/admin/interventions", {"player_id": b, "reason": "more"})
    assert again["existing"] is True and again["id"] == case["id"]
    update = {"reason": "looked", "resolve": "dismiss"}
    await tour.call("PATCH", f"/api/admin/interventions/{case['id']}", update)
    await tour.call("GET", "/api/admin/interventions?status=resolved")
    detail = await tour.call("GET", f"/api/admin/players/{b}")
    assert detail["interventions"][0]["status"] == "resolved"
    audit = await tour.call("GET", "/api/admin/audit?limit=5")
    assert audit["total_count"] >= 8

    await tour.call("POST", "/api/admin/game/pause", {"reason": "incident"})
    await tour.call("GET", "/api/admin/game")
    await tour.call("POST", "/api/admin/game/resume", {"reason": "fixed"})
    await tour.call("POST", "/api/admin/rounds", {"reason": "event", "target": 50}, 201)
    await tour.call("POST", "/api/admin/rounds/current/end", {"reason": "event starts"})
    await tour.call("GET", "/api/admin/metrics")
    await tour.call("GET", "/api/admin/metrics?history=1")
    assert (await tour.call("GET", "/api/admin/me"))["name"] == "admin"
    await tour.call("POST", "/api/admin/ws-token")

    assert set(tour.operations) - tour.seen == set()
