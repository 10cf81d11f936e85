"""The wire models: one declaration validates requests, encodes replies and feeds the document."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from engine.clicks import BATCH_ID_PATTERN, PushResult
from engine.errors import InvalidRequest
from engine.players import MAX_NAME_LENGTH
from engine.rules import Rules
from server.models import RenameRequest, SessionRequest, ack, encode_json, push_models_for
from server.openapi import document
from server.validation import validate

MODELS = push_models_for(Rules())


def refused(data: dict[str, Any], model: type) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        validate(data, model)
    return caught.value


@pytest.mark.parametrize("name", ["José", "名前", "Ada_99", "a-b c"])
def test_names_of_any_script_are_names(name: str) -> None:
    """SPEC §3 says letters: José and 名前 pass both name models, trimmed by the engine's rule."""
    assert validate({"name": f" {name} "}, SessionRequest).name == name
    assert validate({"name": name}, RenameRequest).name == name


def test_a_bad_name_is_refused_by_the_engines_rule() -> None:
    """The models delegate to engine.players.clean_name: its refusal names the field."""
    assert refused({"name": "semi;colon"}, RenameRequest).details == {"field": "name"}
    assert refused({"name": "x" * (MAX_NAME_LENGTH + 1)}, RenameRequest).details == {
        "field": "name"
    }


def test_a_missing_field_is_named() -> None:
    """A required field that is absent is named in details."""
    assert refused({"clicks": [1]}, MODELS.http).details == {"field": "batch_id"}
    assert refused({}, RenameRequest).details == {"field": "name"}


def test_every_unknown_field_is_named() -> None:
    """Unknown fields are refused all together, sorted; a WebSocket message's type is known."""
    error = refused({"batch_id": "b", "clicks": [1], "zz": 1, "pad": 2}, MODELS.http)
    assert error.details == {"fields": ["pad", "zz"]}
    error = refused({"type": "clicks", "batch_id": "b", "clicks": [1], "x": 0}, MODELS.ws)
    assert error.details == {"fields": ["x"]}


@pytest.mark.parametrize("count", [5.5, "5", True, None, 0, 201, 1e300])
def test_a_bad_count_names_its_place(count: Any) -> None:
    """A count that is not an integer from 1 to the largest is refused, naming where it is."""
    error = refused({"batch_id": "b", "clicks": [1, count]}, MODELS.http)
    assert error.details == {"field": "clicks", "at": "clicks[1]"}


def test_whole_numbers_written_with_a_fraction_are_integers() -> None:
    """5.0 is the integer 5, as JSON Schema reads it; the model holds real ints."""
    request = validate({"batch_id": "b", "clicks": [5.0, 2]}, MODELS.http)
    assert request.clicks == [5, 2] and all(type(c) is int for c in request.clicks)


def test_push_limits_follow_the_rules() -> None:
    """The largest count and the counts per push come from the running rules."""
    models = push_models_for(Rules(max_cps=50, click_push_rate=2.0, max_counts_per_push=3))
    assert validate({"batch_id": "b", "clicks": [1000] * 3}, models.http).clicks == [1000] * 3
    assert refused({"batch_id": "b", "clicks": [1001]}, models.http).details["field"] == "clicks"
    assert refused({"batch_id": "b", "clicks": [1] * 4}, models.http).details == {"field": "clicks"}


def test_the_ack_is_the_push_result_without_next_push_after() -> None:
    """SPEC §6's ack fields, taken from the engine's PushResult rather than listed again."""
    result = PushResult("b-1", 8, 2, False, 8, 8, 1, 1, 8, 1.0)
    assert msgspec.json.decode(encode_json(ack(result))) == {
        "type": "ack",
        "batch_id": "b-1",
        "accepted": 8,
        "throttled": 2,
        "duplicate": False,
        "score": 8,
        "round_score": 8,
        "rank": 1,
        "round_rank": 1,
        "planet_total": 8,
    }


def test_the_document_states_the_engines_limits_once() -> None:
    """The name is described, not patterned, and its length limit is the trimmed name's (in
    words, not a maxLength on the raw string); the batch id pattern is the engine's own."""
    from server.http_api import DESCRIPTION, operations

    schemas = document(operations(10, MODELS.http), DESCRIPTION)["components"]["schemas"]
    name = schemas["RenameRequest"]["properties"]["name"]
    assert "pattern" not in name and "maxLength" not in name
    assert name["minLength"] == 1
    assert name["description"].startswith(f"trimmed, then 1-{MAX_NAME_LENGTH} ")
    assert "José" in name["examples"]
    batch_id = schemas["PushRequest"]["properties"]["batch_id"]
    assert batch_id["pattern"] == BATCH_ID_PATTERN
    assert schemas["PushRequest"]["additionalProperties"] is False
