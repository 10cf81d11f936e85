"""The WebSocket protocol core without sockets: frames, codecs and message validation (SPEC §6)."""

from __future__ import annotations

import msgpack
import orjson
import pytest

from engine.errors import InvalidRequest
from server import ws_protocol as proto
from server.errors import PayloadTooLarge
from server.models import BoardChanges, BoardMessage


@pytest.mark.parametrize(("size", "header"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_a_frame_header_uses_the_shortest_length_encoding(size: int, header: int) -> None:
    """Frames carry 7-bit, 16-bit or 64-bit lengths as RFC 6455 §5.2 prescribes, unmasked."""
    data = proto.frame(b"x" * size, proto.OP_TEXT)
    assert len(data) == header + size
    assert data[0] == 0x81  # FIN and the text opcode
    assert data[1] & 0x80 == 0  # servers never mask
    length = data[1] & 0x7F
    if header == 2:
        assert length == size
    else:
        assert int.from_bytes(data[2:header], "big") == size


def test_no_subprotocol_means_json() -> None:
    """A client that asked for no known subprotocol speaks JSON in text frames."""
    assert proto.codec_for(None) is proto.JSON
    assert proto.codec_for("something-else") is proto.JSON
    assert proto.codec_for(proto.MSGPACK_PROTOCOL) is proto.MSGPACK
    assert proto.MSGPACK.opcode == proto.OP_BINARY


def test_both_codecs_carry_the_same_message() -> None:
    """A message encoded by either codec decodes to the same object."""
    message = {"type": "clicks", "batch_id": "b-1", "clicks": [1, 2]}
    for codec in (proto.JSON, proto.MSGPACK):
        assert proto.decode_message(codec, codec.encode(message)) == message


def test_a_message_over_4_kib_is_refused_before_parsing() -> None:
    """Size is checked on the raw bytes first, so a huge message is never parsed."""
    with pytest.raises(PayloadTooLarge):
        proto.decode_message(proto.JSON, b" " * (proto.MAX_MESSAGE + 1))
    assert proto.decode_message(proto.JSON, b'{"type":"ping"}' + b" " * 4000)["type"] == "ping"


@pytest.mark.parametrize(
    ("codec", "data", "reason"),
    [
        (proto.JSON, b"{nope", "unparseable"),
        (proto.JSON, b"\xff\xfe", "unparseable"),
        (proto.JSON, b"[]", "not_an_object"),
        (proto.JSON, b'{"type": 3}', "no_type"),
        (proto.MSGPACK, b"\xc1", "unparseable"),
        (proto.MSGPACK, msgpack.packb({1: 2}), "unparseable"),  # keys must be strings
        (proto.MSGPACK, msgpack.packb("ping"), "not_an_object"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(
    codec: proto.Codec, data: bytes, reason: str
) -> None:
    """Unparseable, non-object and typeless messages are each refused as invalid_request."""
    with pytest.raises(InvalidRequest) as refused:
        proto.decode_message(codec, data)
    assert refused.value.details == {"reason": reason}


def test_a_board_frame_is_the_same_bytes_for_everyone() -> None:
    """The broadcast frame is a pure function of the message: encode once, send to all."""
    message = BoardMessage(v=7, base=6, data=BoardChanges(planets=(), online=1))
    first = proto.encode_frame(proto.JSON, message)
    assert first == proto.encode_frame(proto.JSON, message)
    expected = {"type": "board", "v": 7, "base": 6, "data": {"planets": [], "online": 1}}
    assert orjson.loads(first[2:]) == expected
