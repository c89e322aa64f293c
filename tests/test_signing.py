from __future__ import annotations

import base64
import itertools
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


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # base64url


def test_exactly_one_spelling_of_a_token_is_valid() -> None:
    token = sign_media(CLAIM, SECRET)
    payload, signature = token.split(".")
    assert sign_media(CLAIM, SECRET) == token
    for index, char in itertools.product(range(len(signature)), ALPHABET):
        if char != signature[index]:
            with pytest.raises(InvalidTokenError, match="not issued"):
                verify_media(f"{payload}.{signature[:index]}{char}{signature[index + 1 :]}", SECRET, now=1_000)
    # 16 bytes take 22 characters; the last one's 4 low bits are unused, so this decodes to the same bytes.
    same_bytes = signature[:-1] + ALPHABET[ALPHABET.index(signature[-1]) ^ 1]
    assert base64.urlsafe_b64decode(same_bytes + "==") == base64.urlsafe_b64decode(signature + "==")
    for spelling in (same_bytes, signature + "=", signature + "==", " " + signature):
        with pytest.raises(InvalidTokenError, match="not issued"):
            verify_media(f"{payload}.{spelling}", SECRET, now=1_000)
    body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    for spelling in (payload + "=", payload + "!", "\n" + payload, base64.b64encode(body).decode()):
        if spelling != payload:  # the standard alphabet may coincide with base64url for this payload
            with pytest.raises(InvalidTokenError, match="malformed"):
                verify_media(f"{spelling}.{signature}", SECRET, now=1_000)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "!!!.???", "e30.AAAA"])
def test_garbage_is_refused_cleanly(garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        verify_media(garbage, SECRET, now=1_000)


def test_secret_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "app" / "secret"
    first = load_or_create_secret(path)
    assert len(first) == 32 and load_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
