"""The dashboard end to end: real server, real headless Chromium, the demo workspace.

The media table is a components-v2 element rendered in a shadow root;
Playwright's CSS locators pierce it, ``document.querySelector`` does not, so
element work goes through locators (``locator.evaluate``) or element handles.
Streamlit renders over a websocket, so every check waits on the DOM
(``expect``, ``wait_for_function``) rather than sleeping.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from shanty import Aggregate, Api, Filter, GroupBy, Query, format_number
from shanty.media.tokens import MediaClaim, sign_media

from .conftest import XSS_ARTIFACT, XSS_CAPTION, XSS_PROJECT, XSS_TEXT, Dashboard

pytestmark = pytest.mark.browser

TABLE = "[data-testid=media-table]"
ROWS = f"{TABLE} tbody tr"
AUDIO = "[data-testid=media-audio]"  # a compact audio cell: play button, waveform, duration
PLAY = "[data-testid=media-play]"
SYNTH = "/table?artifact=cshanty/synth_samples&version=v1"  # v2 is v1 enriched: more columns
SYNTH_COLUMNS = ["song_id", "song_name", "audio", "instrument", "duration_s", "pitch_hz", "similarity"]
INSTRUMENTS = {"flute", "violin", "organ", "sax"}


# --- helpers ---------------------------------------------------------------------------------------


def open_table(page: Page, path: str, rows: int) -> None:
    """Navigate and wait until the media table shows exactly ``rows`` rows."""
    page.goto(path)
    expect(page.locator(ROWS)).to_have_count(rows)


def header_names(page: Page) -> list[str]:
    return page.locator(f"{TABLE} thead th").evaluate_all("ths => ths.map(th => th.dataset.column)")


def column_texts(page: Page, column: str) -> list[str]:
    """The visible text of one column, top to bottom."""
    index = header_names(page).index(column) + 1
    return page.locator(f"{ROWS} > td:nth-child({index})").all_inner_texts()


def play_cell(page: Page, selector: str = AUDIO, index: int = 0) -> None:
    """Click the play button of the ``index``-th audio cell matching ``selector``, as a user would."""
    page.locator(selector).nth(index).locator(PLAY).click()


def players(page: Page, table: int = 0) -> list:
    """The two <audio> elements (A, B) of the ``table``-th media table on the page: its one player."""
    return [page.locator(f"[data-testid=player-{slot}]").nth(table).element_handle() for slot in "ab"]


def heard(page: Page, table: int = 0):
    """The element of the table's player that is heard (not muted)."""
    a, b = players(page, table)
    return b if a.evaluate("a => a.muted") else a


def wait_playing(page: Page, past: float = 0.2, table: int = 0) -> float:
    """Wait until what the table's player lets you hear passes ``past`` seconds, playing; returns its time."""
    a, b = players(page, table)
    page.wait_for_function(
        "([a, b, t]) => { const h = a.muted ? b : a; return !h.paused && !h.error && h.currentTime > t; }",
        arg=[a, b, past],
        timeout=10_000,
    )
    return heard(page, table).evaluate("a => a.currentTime")


def query_of(url: str) -> Query:
    """The Query kept in a table page URL (``q``), or the empty one."""
    values = parse_qs(urlsplit(url).query).get("q")
    return Query.from_url_token(values[0]) if values else Query()


def entry_of(dashboard: Dashboard, artifact: str, name: str) -> str:
    """The manifest entry path of the file ``name`` in ``artifact`` (as the table's cells name it)."""
    entries = Api(str(dashboard.root)).artifact(artifact).manifest.entries
    return next(path for path in entries if path.endswith("/" + name))


def raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written: no client-side normalisation of ``..`` or percent-escapes."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def no_script_ran(page: Page) -> None:
    """Assert injected handlers did not fire, after giving a broken <img> time to error out.

    A probe image with an unloadable src errors on the same turn as an injected
    one would, so waiting for the probe bounds the wait without a sleep.
    """
    page.evaluate(
        """() => { const img = new Image(); img.onerror = () => { window.__probe = 1; };
                   img.src = 'x-not-there'; document.body.appendChild(img); }"""
    )
    page.wait_for_function("window.__probe === 1")
    assert page.evaluate("typeof window.__xss") == "undefined"


# --- the table page --------------------------------------------------------------------------------


def test_demo_table_shows_all_rows(page: Page) -> None:
    open_table(page, SYNTH, 26)  # v1 of the synth table: 26 renderings, under the default page size of 50
    assert header_names(page) == SYNTH_COLUMNS
    expect(page.get_by_text("26 rows", exact=False)).to_be_visible()
    assert set(column_texts(page, "instrument")) == INSTRUMENTS
    assert page.locator(AUDIO).count() == 26
    assert page.locator(f"{TABLE} audio").count() == 0  # cells are pictures: the table has one player
    # The page's own view state went into the URL, so the address bar is a link to this view.
    params = parse_qs(urlsplit(page.url).query)
    assert params["artifact"] == ["cshanty/synth_samples"] and params["table"] == ["synth_song_samples"]


def test_audio_cell_plays(page: Page) -> None:
    open_table(page, SYNTH, 26)
    # 26 cells fetch no audio up front: the one player has nothing loaded until a cell is played.
    assert all(p.evaluate("a => !a.getAttribute('src')") for p in players(page))
    # The duration is known before play, from the server's waveform summary (humpback_01 lasts 3 s).
    expect(page.locator(f"{AUDIO} [data-testid=media-duration]").first).to_have_text("0:03")
    play_cell(page)
    assert wait_playing(page, past=0.2) > 0.2
    assert heard(page).evaluate("a => a.duration") == pytest.approx(3.0, abs=0.05)


def test_clicking_the_waveform_plays_from_there(page: Page) -> None:
    open_table(page, SYNTH, 26)
    wave = page.locator(f"{ROWS} .wavebox").first
    box = wave.bounding_box()
    wave.click(position={"x": box["width"] / 2, "y": box["height"] / 2})  # the middle: 1.5 s into the 3 s song
    assert wait_playing(page, past=1.2) > 1.2
    # The playhead follows the sound, in the cell that plays.
    page.wait_for_function(
        "h => !h.hidden && parseFloat(h.style.left) > 40", arg=wave.locator(".playhead").element_handle()
    )


def test_seek_uses_range_requests_answered_206(page: Page) -> None:
    open_table(page, SYNTH, 26)
    media = []
    page.on("response", lambda r: media.append(r) if "/api/media/" in r.url else None)
    with page.expect_response(lambda r: "/api/media/" in r.url and r.status == 206) as first:
        play_cell(page)
    wait_playing(page, past=0.05)
    # A seek must land where asked: the file is served with byte ranges.
    heard(page).evaluate("a => { a.currentTime = 2.0; }")
    wait_playing(page, past=2.0)
    partial = [r for r in media if r.status == 206]
    assert partial and all(re.fullmatch(r"bytes \d+-\d+/\d+", r.headers["content-range"]) for r in partial)
    assert first.value.headers["accept-ranges"] == "bytes"
    assert first.value.headers["content-type"] == "audio/wav"

    url = heard(page).get_attribute("src")
    size = int(first.value.headers["content-range"].rsplit("/", 1)[1])
    response = page.request.get(url, headers={"Range": "bytes=0-99"})
    assert response.status == 206
    assert response.headers["content-range"] == f"bytes 0-99/{size}"
    body = response.body()
    assert len(body) == 100 and body.startswith(b"RIFF") and body[8:12] == b"WAVE"
    assert page.request.get(url, headers={"Range": f"bytes={size}-"}).status == 416
    whole = page.request.get(url)
    assert whole.status == 200 and len(whole.body()) == size


def test_filter_deep_link_cuts_rows(page: Page) -> None:
    token = Query(filters=(Filter("instrument", "=", "flute"),)).to_url_token()
    open_table(page, f"{SYNTH}&q={token}", 6)
    assert column_texts(page, "instrument") == ["flute"] * 6
    assert page.locator(AUDIO).count() == 6
    expect(page.get_by_text("6 rows", exact=False)).to_be_visible()


def test_filter_expression_in_the_ui_updates_the_url_and_the_url_restores_it(page: Page) -> None:
    open_table(page, SYNTH, 26)
    assert "q=" not in page.url
    box = page.get_by_label("Expression")  # in the sidebar
    box.fill("instrument = 'organ'")
    box.press("Enter")
    expect(page.locator(ROWS)).to_have_count(6)
    assert column_texts(page, "instrument") == ["organ"] * 6
    page.wait_for_url(re.compile(r"[?&]q="))
    assert query_of(page.url).expression == "instrument = 'organ'"
    songs = column_texts(page, "song_name")

    restored = page.context.new_page()  # a new page is a new Streamlit session: only the URL carries the view
    open_table(restored, page.url, 6)
    assert column_texts(restored, "song_name") == songs
    expect(restored.get_by_label("Expression")).to_have_value("instrument = 'organ'")


def test_group_by_song_deep_link(page: Page) -> None:
    token = Query(group_by=GroupBy(("song_id",), (Aggregate("count"),), samples=2)).to_url_token()
    open_table(page, f"{SYNTH}&q={token}", 7)
    expect(page.get_by_text("7 groups", exact=False)).to_be_visible()
    assert len(set(column_texts(page, "song_id"))) == 7
    # Every song on 4 instruments, but two renderings were dropped in v1 (minke_01 flute, beluga_01 organ).
    assert sorted(column_texts(page, "count")) == ["3", "3", "4", "4", "4", "4", "4"]
    # Two sample players per group, and a sample really plays.
    assert page.locator(f"{ROWS} {AUDIO}").count() == 14
    play_cell(page, index=3)
    assert wait_playing(page) > 0.2


def test_sorting_by_clicking_a_header(page: Page) -> None:
    open_table(page, SYNTH, 26)
    pitches = [float(p.replace(",", "")) for p in column_texts(page, "pitch_hz")]  # shown as "1,105"
    assert pitches != sorted(pitches)  # else an ascending sort could not be told from none
    header = page.locator(f"{TABLE} th[data-column=pitch_hz] [data-testid=header-sort]")
    first_pitch = page.locator(f"{ROWS} > td:nth-child({SYNTH_COLUMNS.index('pitch_hz') + 1})").first

    header.click()
    expect(header).to_have_text("pitch_hz ▲")
    expect(first_pitch).to_have_text(format_number(min(pitches)))
    assert [float(p.replace(",", "")) for p in column_texts(page, "pitch_hz")] == sorted(pitches)

    header.click()
    expect(header).to_have_text("pitch_hz ▼")
    expect(first_pitch).to_have_text(format_number(max(pitches)))
    assert [float(p.replace(",", "")) for p in column_texts(page, "pitch_hz")] == sorted(pitches, reverse=True)
    sort = query_of(page.url).sort
    assert [(s.column, s.descending) for s in sort] == [("pitch_hz", True)]


def test_images_are_lazy_and_videos_show_a_poster_then_play(page: Page) -> None:
    open_table(page, "/table?artifact=cshanty/original_songs&version=v0", 7)  # before enrichment
    images, posters = page.locator("[data-testid=media-image]"), page.locator("[data-testid=media-poster]")
    assert images.count() == 7 and posters.count() == 7
    assert page.locator(f"{TABLE} video").count() == 0  # no video is fetched before it is asked for
    lazy = "els => els.map(e => e.getAttribute('loading'))"
    assert set(images.evaluate_all(lazy)) == {"lazy"} and set(posters.evaluate_all(lazy)) == {"lazy"}
    # The first (visible) image and poster frame really load, through the media and poster routes.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=images.first.element_handle())
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=posters.first.element_handle())
    assert "/api/poster/" in posters.first.get_attribute("src")
    page.locator("[data-testid=media-video]").first.click()  # a click swaps in the player, which plays
    video = page.locator(f"{TABLE} [data-testid=media-video-player]").first
    page.wait_for_function("v => v.readyState >= 1 && v.duration > 0", arg=video.element_handle())


# --- the artifacts page ----------------------------------------------------------------------------


# The artifacts page is the default one: reachable at / and at its own path.
@pytest.mark.parametrize(("path", "version", "files"), [("/artifacts", "v0", 5), ("/", "v1", 7)])
def test_artifacts_deep_link_restores_the_version(page: Page, path: str, version: str, files: int) -> None:
    page.goto(f"{path}?project=cshanty&artifact=sample_songs&version={version}")
    expect(page.get_by_text(f"Files of {version}")).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{files} file\(s\) · page 1 of 1$"))).to_be_visible()


def test_artifacts_deep_link_restores_the_file_search(page: Page) -> None:
    page.goto("/artifacts?project=cshanty&artifact=sample_songs&version=v1&files_q=humpback")
    expect(page.get_by_text(re.compile(r"^2 file\(s\) · page 1 of 1$"))).to_be_visible()
    expect(page.get_by_label("Search paths")).to_have_value("humpback")


# --- the media route -------------------------------------------------------------------------------


def test_media_route_refuses_forged_expired_tampered_and_traversing_links(page: Page, dashboard: Dashboard) -> None:
    entry = entry_of(dashboard, "cshanty/synth_samples:v0", "humpback_01_flute.wav")
    version_id = Api(str(dashboard.root)).artifact("cshanty/synth_samples:v0").id

    def token(path: str = entry, expires: float | None = None, version_id: str = version_id) -> str:
        claim = MediaClaim("cshanty", "synth_samples", 0, path, int(expires or time.time() + 600), None, version_id)
        return sign_media(claim, dashboard.secret)

    def get(path: str):
        return page.request.get(path, max_redirects=0)

    good = token()
    # The control: a genuine token is served, so the refusals below are about the token, not the setup.
    assert get(f"/api/media/{good}/x.wav").status == 200
    assert get("/api/media/forged.token/x.wav").status == 403
    assert get(f"/api/media/{token(expires=time.time() - 60)}/x.wav").status == 403
    # genuinely signed for v0 when it was another record: v0 today is not what it named
    assert get(f"/api/media/{token(version_id='0' * 20)}/x.wav").status == 403
    payload, signature = good.split(".")
    claim = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claim[5] += 3600  # extend the expiry, keep the signature
    tampered = base64.urlsafe_b64encode(json.dumps(claim, separators=(",", ":")).encode()).rstrip(b"=").decode()
    assert get(f"/api/media/{tampered}.{signature}/x.wav").status == 403
    assert get(f"/api/waveform/{tampered}.{signature}").status == 403
    # Genuinely signed, but naming paths no manifest holds: denied, never looked up on disk.
    for path in ("../../../../etc/passwd", "/etc/passwd", "media/file/etc/passwd"):
        assert get(f"/api/media/{token(path)}/passwd").status == 403
    # Traversal in the URL itself, sent byte for byte (a browser would normalise dot segments away first).
    for path in (
        "/api/media/..%2F..%2Fetc%2Fpasswd",
        "/api/media/..%2F..%2F..%2F..%2Fetc%2Fpasswd/passwd",
        "/api/media/../../../../etc/passwd",
        "/api/media/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/api/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd/x",
        "/api/media/..%252F..%252Fetc%252Fpasswd",
        "/api/media/x/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/waveform/..%2F..%2Fetc%2Fpasswd",
    ):
        status, body = raw_get(dashboard.url, path)
        assert status in (400, 403, 404), (path, status)
        assert b"root:" not in body, path


# --- escaping --------------------------------------------------------------------------------------


def test_user_text_is_shown_as_text_never_run(page: Page) -> None:
    open_table(page, f"/table?artifact={XSS_PROJECT}/{XSS_ARTIFACT}", 1)
    expect(page.get_by_text(XSS_TEXT, exact=True).first).to_be_visible()
    ours = ":not([data-testid=media-image]):not([data-testid=media-poster]):not([data-testid=media-spectrogram])"
    assert page.locator(f"{TABLE} img{ours}, {TABLE} script").count() == 0
    no_script_ran(page)
    # Captions show in full in the row inspector, as text too.
    page.locator(ROWS).first.click(position={"x": 5, "y": 5})
    inspector = page.locator("[data-testid=inspector]")
    expect(inspector.get_by_text(XSS_CAPTION, exact=True)).to_be_visible()
    shown = ours.replace("media-image", "inspector-image")
    assert page.locator(f"[data-testid=inspector] img{shown}, [data-testid=inspector] script").count() == 0
    no_script_ran(page)

    # The same text as an artifact note, on the artifacts page.
    page.goto(f"/artifacts?project={XSS_PROJECT}&artifact={XSS_ARTIFACT}&version=v0")
    expect(page.get_by_label("Note")).to_have_value(XSS_TEXT)
    no_script_ran(page)
