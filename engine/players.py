"""Players: creation, display names, and the round score that resets lazily (SPEC §3)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from engine.errors import InvalidRequest

# Display names (SPEC §3): 1-24 letters, digits, spaces, "_" or "-", trimmed. Every check of a
# name goes through ``clean_name``; the constants are for code that describes the rule.
NAME_MIN, NAME_MAX = 1, 24
NAME_PUNCTUATION = frozenset(" _-")
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters that render as
# nothing. Most are format characters (zero-width, bidi controls, tags) that the categories
# below refuse anyway; the fillers are letters (U+115F, U+1160, U+3164, U+FFA0) and the joiners
# and variation selectors are marks, so they are listed to be refused by name.
INVISIBLE = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, joiners, left-to-right and right-to-left marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors 1-16
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte order mark)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors 17-256
)
INVISIBLE_CHARS = frozenset(chr(c) for low, high in INVISIBLE for c in range(low, high + 1))
# Combining marks belong to the letter or digit before them ("e" + U+0301); more than this many
# in a row stack into a tower over the leaderboard ("Zalgo" text) instead of spelling a name.
MARKS_IN_A_ROW = 4
NAME_RULE = f"{NAME_MIN}-{NAME_MAX} letters, digits, spaces, _ or -"
MAX_NAME_LENGTH = NAME_MAX  # the request models, the document and the page read it here
ACTIVE, BANNED = "active", "banned"
STATUSES = (ACTIVE, BANNED)

# A stored push result: accepted, throttled, score, round_score, rank, round_rank, planet_total.
BatchResult = tuple[int, int, int, int, "int | None", "int | None", int]


@dataclass(slots=True)
class Player:
    id: str
    name: str
    planet: str
    created_at: float
    tokens: float
    tokens_at: float
    score: int = 0
    round_score: int = 0
    round_id: int = 0  # the round ``round_score`` belongs to; any other round reads it as 0
    last_click_at: float | None = None
    push_tat: float | None = None  # when the push bucket is full again (engine/throttle.py)
    status: str = ACTIVE
    violations: int = 0
    # recent batch ids and their replies, oldest first: see engine/batch_memory.py
    batch_ids: str = ""
    batch_results: bytes = b""
    slot: int = -1  # the player's number on the leaderboards, given at creation


@dataclass(slots=True)
class BanRecord:
    """Why and until when a player is banned (``engine/admin/bans.py``); kept only while banned."""

    reason: str | None  # None for a ban from before reasons were kept, or a tool's ban
    at: float
    until: float | None = None  # None: until an admin lifts it
    by: str | None = None  # the admin's name


@dataclass(slots=True)
class NameChange:
    """One name a player had (``roster.set_name``): the name, since when, and who gave it."""

    at: float
    name: str
    by: str  # "player", or the admin's name


def clean_name(raw: object) -> str:
    """The display name to store for ``raw``, or InvalidRequest on ``name`` (SPEC §3).

    NFKC first, so one name has one spelling: a decomposed "José" equals the composed one, and
    full-width letters, ligatures and odd spaces (no-break, ideographic) become their plain
    forms before the check. Then trimmed, 1-24 characters, each a letter, a digit, a space,
    ``_`` or ``-``, or a combining mark on the letter or digit before it. Characters that show
    nothing (fillers, zero-width and bidi controls, variation selectors, tags) are refused, so
    a name is never blank or disguised on the leaderboard: "名前" and "José" pass, "ㅤ" does not.
    """
    if not isinstance(raw, str):
        raise InvalidRequest("name must be a string", {"field": "name"})
    name = raw.strip()
    if len(name) > NAME_MAX * 16:  # no normalisation brings this back to 24 (caps the work)
        raise InvalidRequest(f"name must be {NAME_RULE}", {"field": "name"})
    name = unicodedata.normalize("NFKC", name).strip()
    if not NAME_MIN <= len(name) <= NAME_MAX or not _visible_name(name):
        raise InvalidRequest(f"name must be {NAME_RULE}", {"field": "name"})
    return name


def _visible_name(name: str) -> bool:
    """Every character allowed, every mark on a letter or digit, not too many marks in a row."""
    marks = 0
    after_base = False  # the character before was a letter, a digit or a mark on one
    for char in name:
        if char in INVISIBLE_CHARS:
            return False
        kind = unicodedata.category(char)[0]
        if kind == "M":
            marks += 1
            if not after_base or marks > MARKS_IN_A_ROW:
                return False
            continue
        marks = 0
        after_base = kind in "LN"
        if not after_base and char not in NAME_PUNCTUATION:
            return False
    return True


def default_name(player_id: str) -> str:
    return f"player-{player_id.replace('-', '')[:6]}"


def round_score(player: Player, round_id: int | None) -> int:
    """The player's score in round ``round_id``: a score from an older round counts as 0.

    The one lazy reset of SPEC §3: nothing sweeps the players when a round starts; a push adds
    its clicks to this value and a read shows it, so a stale score is never seen or added to.
    """
    return player.round_score if round_id is not None and player.round_id == round_id else 0
