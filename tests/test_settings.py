"""Settings (SPEC §10): values from flags and the environment, refused with a named setting."""

from __future__ import annotations

import pytest

import settings as settings_mod


def test_secret_key_must_be_32_bytes_or_more() -> None:
    """SECRET_KEY under 32 bytes stops start-up naming it; 32 bytes, in any script, are taken."""
    with pytest.raises(settings_mod.SettingsError, match="SECRET_KEY must be at least 32 bytes"):
        settings_mod.load([], {"SECRET_KEY": "k" * 31})
    assert settings_mod.load([], {"SECRET_KEY": "k" * 32}).secret_key == "k" * 32
    assert settings_mod.load([], {"SECRET_KEY": "é" * 16}).secret_key == "é" * 16  # 32 bytes
    with pytest.raises(settings_mod.SettingsError, match="SECRET_KEY"):
        settings_mod.load(["--secret-key", "sixteen-chars-ok"], {})
    assert settings_mod.load([], {"SECRET_KEY": ""}).secret_key is None
