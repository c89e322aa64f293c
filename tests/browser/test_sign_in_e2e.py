"""Sign-in end to end: a real local OIDC provider (oidc-provider-mock), the dashboard with ``[auth]`` from a
secrets file named by ``STREAMLIT_SECRETS_FILES``, and a registry whose access policy lets only Alice read
project ``orcas-private``. Alice signs in and sees it; Bob signs in and sees neither its name nor its
table, and Alice's media URL refuses him."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

from shanty.media.tokens import viewer_tag
from tests.browser.conftest import (
    TIMEOUT_MS,
    _write_wav,
    free_port,
    require_chromium,
    start_streamlit,
    stop_process_group,
    wait_healthy,
)

PROJECT, ARTIFACT, TABLE = "orcas-private", "calls", "pods"
ALICE, BOB = "alice@example.com", "bob@example.com"


@dataclass(frozen=True)
class SignedInApp:
    url: str
    root: Path
    secret: bytes
    log: Path


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 (any client id and secret accepted; the user types a subject)."""
    pytest.importorskip("oidc_provider_mock", reason="pip install oidc-provider-mock (the test extra)")
    import oidc_provider_mock
    import werkzeug.serving

    server = werkzeug.serving.make_server("127.0.0.1", free_port(), oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory: pytest.TempPathFactory, oidc_provider: str) -> Iterator[SignedInApp]:
    require_chromium()
    pytest.importorskip("authlib", reason="st.login needs Authlib (the test extra)")
    import shanty
    from shanty.access import update_policy
    from shanty.media.tokens import load_or_create_secret

    work = tmp_path_factory.mktemp("signin").resolve()
    root, log = work / "registry", work / "streamlit.log"
    media = work / "bucket"
    media.mkdir()
    table = shanty.Table(
        columns=["pod", "call"], data=[["J", shanty.Audio(str(_write_wav(media / "j.wav")), sample_rate=8000)]]
    )
    artifact = shanty.Artifact(ARTIFACT, type="dataset")
    artifact.add(table, TABLE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHANTY_PROGRESS", "0")
        with shanty.init(project=PROJECT, job_type="upload", root=str(root)) as run:
            run.log_artifact(artifact)
    update_policy(str(root), lambda p: p.changed(PROJECT, ALICE, "read", allow=True))
    secret = load_or_create_secret(work / "app-secret")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secrets_file = work / "secrets.toml"  # outside the repository: named by STREAMLIT_SECRETS_FILES
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(16)}"\n'
        'client_id = "shanty-test"\n'
        'client_secret = "shanty-test-secret"\n'
        f'server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"\n'
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STREAMLIT_SECRETS_FILES", str(secrets_file))
        process = start_streamlit(root, work / "app-secret", log, port)
    try:
        wait_healthy(process, url, log)
        yield SignedInApp(url, root, secret, log)
    finally:
        stop_process_group(process)


@pytest.fixture
def chromium(browser):
    """The package's shared Chromium (tests/browser/conftest.py): a second sync Playwright in the same
    process would start inside the first one's event loop and fail."""
    return browser


def _sign_in(chromium, app: SignedInApp, user: str):
    """A fresh browser context signed in as ``user`` through the provider's form; returns (context, page)."""
    from playwright.sync_api import expect

    context = chromium.new_context(base_url=app.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.locator("input[name=sub]").fill(user)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{app.url}/**")
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()
    return context, page


def _alices_media_url(app: SignedInApp) -> str:
    import shanty
    from dashboard.routes.media import server_for

    version = shanty.Api(str(app.root)).artifact(f"{PROJECT}/{ARTIFACT}:latest")
    entry = next(path for path in version.manifest.entries if path.endswith(".wav"))
    return server_for(str(app.root), app.secret).url_for(version, entry, user=ALICE)


def _shown(page) -> str:
    """Everything the page shows: its HTML, its URL and the pickers' values (input values are not HTML)."""
    values = page.eval_on_selector_all("input", "els => els.map(e => e.value)")
    return "\n".join([page.content(), unquote(page.url), *values])


def _token_requests(page) -> list:
    """Collects the responses of the page's requests to token routes (the media table fetches waveforms)."""
    seen: list = []
    page.on("response", lambda r: seen.append(r) if "/api/" in r.url and "/_stcore/" not in r.url else None)
    return seen


def _claim_fields(url: str) -> list:
    payload = url.split("/api/", 1)[1].split("/")[1].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_signed_out_user_sees_nothing_and_alice_sees_her_project(chromium, signed_in_app: SignedInApp) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(base_url=signed_in_app.url)
    page = context.new_page()
    try:
        page.goto("/table")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_text("shown only to those given access; sign in")).to_be_visible(timeout=TIMEOUT_MS)
        assert PROJECT not in _shown(page)
    finally:
        context.close()

    context, page = _sign_in(chromium, signed_in_app, ALICE)
    try:
        responses = _token_requests(page)
        page.goto("/table")
        expect(page.get_by_text("Column summaries (of the rows")).to_be_visible()
        assert f"{PROJECT}/{ARTIFACT}" in _shown(page)  # the artifact picker's value
        page.wait_for_timeout(1500)
        assert responses, "the table fetched no media preview"
        for response in responses:  # the page's own links are minted for Alice and serve her
            assert _claim_fields(response.url)[6:] == [viewer_tag(ALICE)]
            assert response.status == 200, response.url
        url = _alices_media_url(signed_in_app)
        response = context.request.get(url)
        assert response.status == 200, response.text()
    finally:
        context.close()


def test_bob_sees_neither_the_project_nor_its_table_nor_alices_media(chromium, signed_in_app: SignedInApp) -> None:
    from playwright.sync_api import expect

    context, page = _sign_in(chromium, signed_in_app, BOB)
    try:
        page.wait_for_timeout(1500)  # the Artifacts view has drawn its pickers (or its empty state) by now
        assert PROJECT not in _shown(page)
        page.goto("/table")
        expect(page.get_by_text("may read none of this registry's projects")).to_be_visible()
        assert PROJECT not in _shown(page) and TABLE not in _shown(page)
        page.goto(f"/table?artifact={PROJECT}/{ARTIFACT}&table={TABLE}")  # a link naming it shows nothing of it
        expect(page.get_by_text("may read none of this registry's projects")).to_be_visible()
        response = context.request.get(_alices_media_url(signed_in_app))
        assert response.status == 403, response.text()
        assert "another user" in response.text()
    finally:
        context.close()
