"""Whether a logged media file can still be played, and a sentence saying why not (the Diff view's A/B)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shanty.errors import NotFoundError
from tests.test_serve import log_media, media_server


@pytest.mark.parametrize("versioned", [True, False])
def test_why_unplayable_says_what_became_of_the_logged_bytes(
    kit, registry_root: str, tmp_path: Path, versioned: bool
) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path, versioned=versioned)
    server = media_server(registry_root)
    assert server.why_unplayable(version, "songs/a.wav") is None
    assert server.why_unplayable(version, "notes/page.html") is None  # stored by value in the registry
    kit.put(f"{bucket}/media/songs/a.wav", b"replaced in place")
    kit.delete(f"{bucket}/media/pics/b.png")
    replaced, deleted = (server.why_unplayable(version, p) for p in ("songs/a.wav", "pics/b.png"))
    if versioned and kit.name != "file":  # the store kept the logged object versions: both still play
        assert (replaced, deleted) == (None, None)
        return
    assert replaced is not None and "a.wav" in replaced and "v0" in replaced and "cannot be played" in replaced
    assert deleted is not None and "b.png" in deleted
    if kit.name == "file":  # a folder keeps no versions: the sentence says so
        assert "keeps no old versions" in replaced and "no longer in its folder" in deleted
    with pytest.raises(NotFoundError):
        server.why_unplayable(version, "nope.wav")
