"""Write access in the dashboard: with an access policy, a viewer without write access to a project sees
the note / alias editing and the join's "Log it" disabled, with one sentence saying who may write, and a
click forged past the disabled widget (or made after the grant was revoked) writes nothing; a writer
edits and logs as before; without a policy nothing changes.

The signed-in user is AppTest's own (``at.user``, read by ``st.user``), with an ``[auth]`` section in
``at.secrets`` so that the app treats sign-in as configured; no provider is contacted.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import shanty
from dashboard import auth
from shanty.access import ACCESS_DIR, update_policy
from tests.kits.apptest import APP

ARTIFACTS, JOIN = "dashboard/views/artifacts.py", "dashboard/views/join.py"
ALICE, BOB = "alice@example.com", "bob@example.com"  # Alice reads the demo project, Bob writes it
PROJECT = "cshanty"  # the demo's project
SAVE, LOG_IT = "Save note and aliases", "Log it"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "shanty",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
JOIN_LINK = {"l_artifact": f"{PROJECT}/original_songs", "r_artifact": f"{PROJECT}/synth_samples", "on": "song_id"}


@pytest.fixture
def policy(demo_root: str) -> Iterator[str]:
    """The demo registry with a policy: Alice may read the demo project, Bob may write it; removed after."""
    auth._policies.clear()  # the dashboard trusts a policy it read for POLICY_SECONDS
    update_policy(demo_root, lambda p: p.changed(PROJECT, ALICE, "read", allow=True))
    update_policy(demo_root, lambda p: p.changed(PROJECT, BOB, "write", allow=True))
    yield demo_root
    shutil.rmtree(Path(demo_root) / ACCESS_DIR)
    auth._policies.clear()


@pytest.fixture
def signed_in(demo_root: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """``signed_in(view, user, **params)``: like the ``app`` fixture, with sign-in configured and ``user``
    (an e-mail, or None: signed out) as the viewer."""
    monkeypatch.setenv("SHANTY_ROOT", demo_root)
    monkeypatch.setenv("SHANTY_SECRET_FILE", str(tmp_path / "secret"))

    def start(view: str, user: str | None, /, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": False} if user is None else {"is_logged_in": True, "email": user, "sub": user}
        for key, value in params.items():
            at.query_params[key] = value
        at.switch_page(view)
        return at.run()

    return start


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def forced_click(at: AppTest, label: str) -> AppTest:
    """Click ``label`` as a crafted client message would, past its ``disabled`` flag (AppTest refuses a
    click on a disabled widget, as a browser does; Streamlit then discards it server-side, and the view's
    own check, which a grant revoked after the page was drawn reaches, is tested below)."""
    target = button(at, label)
    target.proto.disabled = False
    return target.click().run()


def note_of(root: str, ref: str) -> str | None:
    return shanty.Api(root).artifact(ref).description


def artifact_names(root: str) -> set[str]:
    return {a.name for a in shanty.Api(root).artifact_collections(PROJECT)}


def infos(at: AppTest) -> list[str]:
    return [i.value.replace("\\", "") for i in at.info]


def test_a_reader_cannot_edit_a_version(signed_in, policy: str) -> None:
    at = signed_in(ARTIFACTS, ALICE, project=PROJECT, artifact="sample_songs")
    assert not at.exception
    assert button(at, SAVE).disabled and at.text_area[0].disabled and at.text_input[0].disabled
    said = [i for i in infos(at) if "may change project" in i]
    assert said == [
        f"Only {BOB} may change project {PROJECT}, and {ALICE} has no write access to it; "
        f"ask whoever manages the registry to run `shanty access grant {PROJECT} {ALICE} --write`."
    ]
    before = note_of(policy, f"{PROJECT}/sample_songs:v1")
    at.text_area[0].proto.disabled = False
    at.text_area[0].input("written by someone who may not")
    at = forced_click(at, SAVE)
    assert not at.exception and not at.toast
    assert note_of(policy, f"{PROJECT}/sample_songs:v1") == before


def test_a_writer_edits_a_version(signed_in, policy: str) -> None:
    at = signed_in(ARTIFACTS, BOB, project=PROJECT, artifact="sample_songs")
    assert not at.exception and not button(at, SAVE).disabled
    assert not [i for i in infos(at) if "may change project" in i]
    at.text_area[0].input("checked by Bob")
    button(at, SAVE).click().run()
    assert not at.exception and not at.error
    assert note_of(policy, f"{PROJECT}/sample_songs:v1") == "checked by Bob"


def test_write_access_revoked_after_the_page_was_drawn_writes_nothing(signed_in, policy: str) -> None:
    at = signed_in(ARTIFACTS, BOB, project=PROJECT, artifact="sample_songs")
    assert not button(at, SAVE).disabled
    before = note_of(policy, f"{PROJECT}/sample_songs:v1")
    update_policy(policy, lambda p: p.changed(PROJECT, BOB, "write", allow=False))  # the cached policy still lets him
    at.text_area[0].input("written after the grant was revoked")
    button(at, SAVE).click().run()
    assert any("Nothing was saved" in e.value and "no write access" in e.value for e in at.error)
    assert note_of(policy, f"{PROJECT}/sample_songs:v1") == before


def test_a_reader_cannot_log_a_join(signed_in, policy: str) -> None:
    before = artifact_names(policy)
    at = signed_in(JOIN, ALICE, **JOIN_LINK)
    assert not at.exception
    assert button(at, LOG_IT).disabled
    assert any(f"Only {BOB} may change project {PROJECT}" in i for i in infos(at))
    at = forced_click(at, LOG_IT)
    assert not at.exception and not at.success
    assert artifact_names(policy) == before


def test_a_join_logged_after_write_access_was_revoked_is_refused(signed_in, policy: str) -> None:
    before = artifact_names(policy)
    at = signed_in(JOIN, BOB, **JOIN_LINK)
    assert not button(at, LOG_IT).disabled
    update_policy(policy, lambda p: p.changed(PROJECT, BOB, "write", allow=False))
    button(at, LOG_IT).click().run()
    assert not at.exception and not at.success
    assert any("no write access" in e.value for e in at.error)
    assert artifact_names(policy) == before


def test_a_writer_logs_a_join(signed_in, policy: str) -> None:
    at = signed_in(JOIN, BOB, **JOIN_LINK)
    assert not button(at, LOG_IT).disabled
    next(t for t in at.text_input if t.label == "Artifact name").input("bobs_join")
    button(at, LOG_IT).click().run()
    assert not at.exception and at.success
    assert "bobs_join" in artifact_names(policy)


def test_signed_out_with_a_policy_sees_nothing_and_cannot_load_the_demo(signed_in, policy: str) -> None:
    at = signed_in(ARTIFACTS, None)
    assert not at.exception
    assert button(at, "Load the demo workspace into this registry").disabled
    assert any("you are not signed in" in c.value for c in at.caption)


def test_without_a_policy_everyone_edits_as_before(signed_in, demo_root: str) -> None:
    auth._policies.clear()
    at = signed_in(ARTIFACTS, ALICE, project=PROJECT, artifact="sample_songs")
    assert not button(at, SAVE).disabled and not at.info
    at.text_area[0].input("open registry")
    button(at, SAVE).click().run()
    assert note_of(demo_root, f"{PROJECT}/sample_songs:v1") == "open registry"
    at = signed_in(JOIN, None, **JOIN_LINK)
    assert not button(at, LOG_IT).disabled
