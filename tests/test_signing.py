from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shanty.errors import InvalidTokenError
from shanty.media.tokens import MediaClaim, load_or_create_secret, sign_media, verify_media

SECRET = b"s" * 32
CLAIM = MediaClaim("songs", "sample_songs", 1, "whalesong/orca 01.wav", expires=2_000)


def test_round_trip() -> None:
    assert verify_media(sign_media(CLAIM, SECRET), SECRET, now=1_000) == CLAIM


def test_expired_token_is_refused() -> None:
    with pytest.raises(InvalidTokenError, match="expired"):
        verify_media(sign_media(CLAIM, SECRET), SECRET, now=2_001)


def test_other_secret_or_tampered_payload_is_refused() -> None:
    token = sign_media(CLAIM, SECRET)
    with pytest.raises(InvalidTokenError, match="not issued"):
        verify_media(token, b"x" * 32, now=1_000)
    forged_claim = sign_media(MediaClaim("songs", "sample_songs", 1, "../../etc/passwd", 2_000), b"x" * 32)
    payload = forged_claim.split(".")[0]
    with pytest.raises(InvalidTokenError, match="not issued"):
        verify_media(f"{payload}.{token.split('.')[1]}", SECRET, now=1_000)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "!!!.???", "e30.AAAA"])
def test_garbage_is_refused_cleanly(garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        verify_media(garbage, SECRET, now=1_000)


def test_secret_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "app" / "secret"
    first = load_or_create_secret(path)
    assert len(first) == 32 and load_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
