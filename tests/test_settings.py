"""Settings: read once, validated with a sentence, and the one place the game's rules come from."""

from __future__ import annotations

import dataclasses

import pytest

import settings as settings_mod
from engine.rules import DEFAULT_RULES
from settings import Settings, SettingsError


def test_the_rules_are_built_once_from_the_settings() -> None:
    """``rules`` is one object built at creation; a replaced setting builds new rules."""
    settings = settings_mod.load([], {"MAX_CPS": "30", "ROUND_TARGET": "500"})
    assert settings.rules is settings.rules
    assert (settings.rules.max_cps, settings.rules.round_target) == (30, 500)
    changed = dataclasses.replace(settings, click_push_rate=2.0)
    assert changed.rules.click_push_rate == 2.0
    assert Settings().rules == DEFAULT_RULES


def test_connection_limits_come_from_the_environment_and_flags() -> None:
    """The operator's connection limits are settings; a flag wins over the environment."""
    environ = {"WS_BUFFER_LIMIT": "65536", "WS_MAX_PER_PLAYER": "4", "HEADER_TIMEOUT": "2.5"}
    settings = settings_mod.load(["--max-connections-per-address", "9"], environ)
    assert settings.ws_buffer_limit == 65536
    assert settings.ws_max_per_player == 4
    assert settings.header_timeout == 2.5
    assert settings.max_connections_per_address == 9


def test_a_bad_connection_limit_is_named() -> None:
    """A value out of range stops start-up with a message naming the setting."""
    with pytest.raises(SettingsError, match="WS_MAX_PER_PLAYER must be an integer"):
        settings_mod.load([], {"WS_MAX_PER_PLAYER": "0"})


def test_the_body_deadline_read_limit_and_shedding_are_settings() -> None:
    """BODY_TIMEOUT, READ_RATE, READ_BURST and SHED_RATE come from the environment and flags,
    with their defaults otherwise, and a bad value is named."""
    defaults = settings_mod.load([], {})
    assert (defaults.body_timeout, defaults.read_rate, defaults.read_burst) == (10.0, 20.0, 60)
    assert defaults.shed_rate == 50.0
    environ = {"BODY_TIMEOUT": "4.5", "READ_RATE": "3", "SHED_RATE": "0"}
    settings = settings_mod.load(["--read-burst", "7"], environ)
    assert (settings.body_timeout, settings.read_rate, settings.read_burst) == (4.5, 3.0, 7)
    assert settings.shed_rate == 0.0
    for name, bad in (("BODY_TIMEOUT", "0"), ("READ_BURST", "1.5"), ("SHED_RATE", "-1")):
        with pytest.raises(SettingsError, match=f"{name} must be"):
            settings_mod.load([], {name: bad})


def test_the_admin_figures_interval_is_a_setting_of_half_a_second_or_more() -> None:
    """ADMIN_METRICS_INTERVAL is 5 s by default, read from the environment, and below 0.5 s
    it is named."""
    assert settings_mod.load([], {}).admin_metrics_interval == 5.0
    assert settings_mod.load([], {"ADMIN_METRICS_INTERVAL": "0.5"}).admin_metrics_interval == 0.5
    with pytest.raises(SettingsError, match="ADMIN_METRICS_INTERVAL must be"):
        settings_mod.load([], {"ADMIN_METRICS_INTERVAL": "0.1"})


def test_secret_key_must_be_32_bytes_or_more() -> None:
    """SECRET_KEY under 32 bytes stops start-up naming it; 32 bytes, in any script, are taken."""
    with pytest.raises(settings_mod.SettingsError, match="SECRET_KEY must be at least 32 bytes"):
        settings_mod.load([], {"SECRET_KEY": "k" * 31})
    assert settings_mod.load([], {"SECRET_KEY": "k" * 32}).secret_key == "k" * 32
    assert settings_mod.load([], {"SECRET_KEY": "é" * 16}).secret_key == "é" * 16  # 32 bytes
    with pytest.raises(settings_mod.SettingsError, match="SECRET_KEY"):
        settings_mod.load(["--secret-key", "sixteen-chars-ok"], {})
    assert settings_mod.load([], {"SECRET_KEY": ""}).secret_key is None


def test_admin_tokens_are_name_token_pairs() -> None:
    """ADMIN_TOKENS reads ``name:token`` pairs in order; empty is none."""
    environ = {"ADMIN_TOKENS": "alice:alice-token-0123456789, bob.ops:bob-token-0123456789"}
    assert settings_mod.load([], environ).admin_tokens == (
        ("alice", "alice-token-0123456789"),
        ("bob.ops", "bob-token-0123456789"),
    )
    assert settings_mod.load([], {"ADMIN_TOKENS": ""}).admin_tokens == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("alice", "name:token pairs"),
        ("al ice:alice-token-0123456789", "name:token pairs"),
        ("a" * 33 + ":alice-token-0123456789", "name:token pairs"),
        ("alice:short", "at least 16 characters"),
        ("system:system-token-0123456789", "reserved"),
        ("alice:alice-token-0123456789,alice:other-token-0123456789", "of their own"),
        ("alice:same-token-0123456789,bob:same-token-0123456789", "of their own"),
    ],
)
def test_a_bad_admin_tokens_value_is_named(raw: str, message: str) -> None:
    """A malformed pair, a short token, a reserved or repeated name, a shared token: refused."""
    with pytest.raises(SettingsError, match=f"ADMIN_TOKENS.*{message}"):
        settings_mod.load([], {"ADMIN_TOKENS": raw})


def test_admin_tokens_may_not_take_the_name_or_token_of_admin_token() -> None:
    """ADMIN_TOKEN's admin is ``admin``: ADMIN_TOKENS naming ``admin`` or reusing its token is
    refused while ADMIN_TOKEN is set, and allowed when it is not."""
    single = {"ADMIN_TOKEN": "admin-token-0123456789"}
    for raw in ("admin:other-token-0123456789", "bob:admin-token-0123456789"):
        with pytest.raises(SettingsError, match="ADMIN_TOKENS may not"):
            settings_mod.load([], {**single, "ADMIN_TOKENS": raw})
    named = settings_mod.load([], {"ADMIN_TOKENS": "admin:other-token-0123456789"})
    assert named.admin_tokens == (("admin", "other-token-0123456789"),)
