"""The WebSocket protocol without the I/O (SPEC §6): codecs, frames and message validation.

Everything here takes bytes or messages in and hands bytes or messages out, the way
python-websockets keeps its protocol core free of sockets; ``server/ws.py`` (the socket's
life), ``server/ws_messages.py`` (what a client says) and ``server/broadcaster.py`` wrap it.
The messages themselves are declared in ``server/models.py``.

Two subprotocols carry the same messages: ``ctb.v1.json`` in text frames (the default) and
``ctb.v1.msgpack`` in binary frames. Server frames are never masked (RFC 6455 §5.1) and we do
not negotiate permessage-deflate, so one encoded frame is byte-for-byte the same for every
client of a subprotocol: the broadcaster builds each board frame once and writes those bytes to
every socket.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Final

import msgpack
import msgspec
import orjson

from engine.errors import InvalidRequest
from engine.view import PlayerObject
from server.errors import PayloadTooLarge
from server.models import (
    Ping,
    PushModels,
    Resync,
    RoundMessage,
    Snapshot,
    SnapshotData,
    SnapshotMessage,
    encode_json,
    encode_msgpack,
)

JSON_PROTOCOL = "ctb.v1.json"
MSGPACK_PROTOCOL = "ctb.v1.msgpack"
PROTOCOLS = (JSON_PROTOCOL, MSGPACK_PROTOCOL)
PROTOCOL_VERSION: Final = 1  # the snapshot message's ``version``: a Literal[1] for the model
MAX_MESSAGE = 4 * 1024  # SPEC §6: larger client messages get an ``error``

OP_TEXT, OP_BINARY = 0x1, 0x2


@dataclass(frozen=True, slots=True)
class Codec:
    """How one subprotocol turns messages into frame payloads and back.

    ``read`` decodes a client message straight into its model (``ClicksMessage``, ``Ping``,
    ``Resync``) in one step, checking it as it goes; the push's limits come from the running
    rules, so the app makes its own codecs (``codecs_for``). A message ``read`` refuses goes the
    long way, ``decode`` (orjson or msgpack) and then the model, which words the refusal the
    SPEC's way. Server messages (models, the engine's dataclasses, or dicts) are encoded by
    msgspec's encoders, which write those objects directly, with no dict built in between.
    """

    name: str
    opcode: int
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes | str], Any]
    read: Callable[[bytes], Any] | None = None


def _msgpack_decode(data: bytes | str) -> Any:
    if isinstance(data, str):
        data = data.encode()
    # unpackb bounds every length by the input's size; map keys must be strings.
    return msgpack.unpackb(data, raw=False, strict_map_key=True)


JSON = Codec(JSON_PROTOCOL, OP_TEXT, encode_json, orjson.loads)
MSGPACK = Codec(MSGPACK_PROTOCOL, OP_BINARY, encode_msgpack, _msgpack_decode)
CODECS: dict[str, Codec] = {JSON.name: JSON, MSGPACK.name: MSGPACK}


def codec_for(protocol: str | None, models: PushModels | None = None) -> Codec:
    """The codec of the negotiated subprotocol; none requested means JSON (SPEC §6).

    With the app's push models it reads client messages in one typed step (``Codec.read``).
    """
    codecs = CODECS if models is None else codecs_for(models)
    return codecs.get(protocol or "", codecs[JSON_PROTOCOL])


@functools.cache
def codecs_for(models: PushModels) -> dict[str, Codec]:
    """Both codecs with a typed reader of the client messages under these push limits."""
    union: Any = models.ws | Ping | Resync
    return {
        JSON.name: dataclasses.replace(JSON, read=msgspec.json.Decoder(union).decode),
        MSGPACK.name: dataclasses.replace(MSGPACK, read=msgspec.msgpack.Decoder(union).decode),
    }


def frame(payload: bytes, opcode: int) -> bytes:
    """One final, unmasked server frame (RFC 6455 §5.2): header and payload in one buffer."""
    length = len(payload)
    first = 0x80 | opcode
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def encode_frame(codec: Codec, message: Any) -> bytes:
    return frame(codec.encode(message), codec.opcode)


def decode_message(codec: Codec, data: bytes | str) -> dict[str, Any]:
    """Parse one client message: an object with a string ``type``, or a GameError to reply with.

    The type is not checked against the handlers here: ``on_misfit`` in ``server/ws_messages.py``,
    beside its dispatch table (``HANDLERS``), has the one fallback for unknown types.
    """
    if len(data) > MAX_MESSAGE:
        raise PayloadTooLarge(
            f"messages are limited to {MAX_MESSAGE} bytes", {"limit": MAX_MESSAGE}
        )
    try:
        message = codec.decode(data)
    except Exception:  # orjson.JSONDecodeError, msgpack's several errors, UnicodeDecodeError
        raise InvalidRequest("the message could not be parsed", {"reason": "unparseable"}) from None
    if not isinstance(message, dict):
        raise InvalidRequest("a message must be an object", {"reason": "not_an_object"})
    if not isinstance(message.get("type"), str):
        raise InvalidRequest("a message needs a string type", {"reason": "no_type"})
    return message


def unknown_type(message: dict[str, Any]) -> InvalidRequest:
    return InvalidRequest(
        f"unknown message type {message['type'][:32]!r}", {"reason": "unknown_type"}
    )


SNAPSHOT_FIELDS = tuple(f.name for f in fields(Snapshot))


def snapshot_message(snapshot: Snapshot, me: PlayerObject) -> SnapshotMessage:
    data = SnapshotData(**{name: getattr(snapshot, name) for name in SNAPSHOT_FIELDS}, me=me)
    return SnapshotMessage(version=PROTOCOL_VERSION, data=data)


def round_message(event: dict[str, Any]) -> RoundMessage:
    return RoundMessage(event=event["event"], data=event["data"])
