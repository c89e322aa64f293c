"""Per-project access: the policy's rules (a table of cases), its storage in the registry (race-free,
on every backend), the CLI, media tokens bound to a user, and the guarded media route."""

from __future__ import annotations

import base64
import json
import multiprocessing
import warnings
from pathlib import Path

import pytest
from starlette.applications import Starlette

from dashboard import auth
from dashboard.routes.media import media_routes, server_for
from shanty.access import AccessPolicy, ProjectGrant, load_policy, update_policy
from shanty.cli import main
from shanty.errors import InvalidInputError, MalformedError, MediaDeniedError
from shanty.media.tokens import MediaClaim, check_viewer, sign_media, verify_media, viewer_tag
from tests.test_serve import SECRET, SONG, log_media

with warnings.catch_warnings():  # starlette 1.x would rather use httpx2, which is not installed
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

ALICE, BOB = "alice@example.com", "bob@example.com"
POLICY = AccessPolicy(
    {
        "songs": ProjectGrant(read=frozenset({ALICE}), write=frozenset()),
        "shared": ProjectGrant(read=frozenset({"*"}), write=frozenset({BOB})),
        "*": ProjectGrant(read=frozenset({"carol-sub"})),
    }
)


# --- the rules -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "project", "mode", "allowed"),
    [
        (ALICE, "songs", "read", True),
        ("Alice@Example.COM", "songs", "read", True),  # e-mail addresses compare without case
        (ALICE, "songs", "write", False),
        (BOB, "songs", "read", False),
        (None, "songs", "read", False),  # signed out: nothing once there is a policy
        (None, "shared", "read", False),  # "*" is every signed-in user, not the signed-out
        (BOB, "shared", "read", True),  # write implies read
        (BOB, "shared", "write", True),
        (ALICE, "shared", "read", True),
        (ALICE, "shared", "write", False),
        ("carol-sub", "other", "read", True),  # a project without a grant of its own: the "*" grant
        (ALICE, "other", "read", False),
        ("carol-sub", "songs", "read", False),  # an own grant replaces the "*" grant, it does not add to it
        ((BOB, "carol-sub"), "other", "read", True),  # any spelling of the identity (e-mail, subject) counts
        ((), "shared", "read", False),
    ],
)
def test_policy_rules(user, project: str, mode: str, allowed: bool) -> None:
    assert POLICY.can(user, project, mode) is allowed


def test_a_policy_without_a_star_grant_hides_unlisted_projects() -> None:
    policy = AccessPolicy({"songs": ProjectGrant(read=frozenset({ALICE}))})
    assert policy.readable(ALICE, ["songs", "birds"]) == ["songs"]
    assert policy.readable(BOB, ["songs", "birds"]) == []


def test_changed_grants_and_revokes() -> None:
    policy = AccessPolicy().changed("songs", ALICE, "write", allow=True)
    assert (policy.can(ALICE, "songs"), policy.can(ALICE, "songs", "write")) == (True, True)
    only_read = policy.changed("songs", ALICE, "write", allow=False)
    assert (only_read.can(ALICE, "songs"), only_read.can(ALICE, "songs", "write")) == (True, False)
    gone = policy.changed("songs", ALICE, "read", allow=False)  # revoking read takes write along
    assert (gone.can(ALICE, "songs"), gone.can(ALICE, "songs", "write")) == (False, False)
    with pytest.raises(InvalidInputError, match="Name a user"):
        policy.changed("songs", " ", "read", allow=True)


def test_json_round_trip_and_damage() -> None:
    assert AccessPolicy.from_json(json.loads(json.dumps(POLICY.to_json()))) == POLICY
    for bad in ({"format": 2, "projects": {}}, {"format": 1, "projects": {"p": {"read": "alice"}}}, [], None):
        with pytest.raises(MalformedError, match="not a shanty access policy"):
            AccessPolicy.from_json(bad)


# --- storage ---------------------------------------------------------------------------------------------
def test_no_policy_means_open(tmp_path: Path) -> None:
    assert load_policy(str(tmp_path / "registry")) is None


def test_policy_round_trips_on_every_backend(registry_root: str) -> None:
    root = registry_root
    assert load_policy(root) is None
    update_policy(root, lambda p: p.changed("songs", ALICE, "read", allow=True))
    update_policy(root, lambda p: p.changed("songs", BOB, "write", allow=True))
    stored = load_policy(root)
    assert stored is not None and stored.can(ALICE, "songs") and stored.can(BOB, "songs", "write")


def _grant(root: str, user: str) -> None:
    update_policy(root, lambda p: p.changed("songs", user, "read", allow=True))


def test_concurrent_grants_are_all_kept(tmp_path: Path) -> None:
    root = str(tmp_path / "registry")
    users = [f"user{i}@example.com" for i in range(6)]
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        pool.starmap(_grant, [(root, u) for u in users])
    stored = load_policy(root)
    assert stored is not None and all(stored.can(u, "songs") for u in users)
    assert len(list((tmp_path / "registry" / "access").iterdir())) == len(users)  # one snapshot each, none lost


def test_cli_grant_revoke_show(tmp_path: Path, capsys) -> None:
    root = str(tmp_path / "registry")
    assert main(["--registry", root, "access", "show"]) == 0
    assert "every project is open" in capsys.readouterr().out
    assert main(["--registry", root, "access", "grant", "songs", ALICE, "--write"]) == 0
    assert main(["--registry", root, "access", "grant", "songs", BOB]) == 0
    assert main(["--registry", root, "access", "revoke", "songs", ALICE]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].split() == ["songs", BOB, "-"]
    stored = load_policy(root)
    assert stored is not None and not stored.can(ALICE, "songs") and stored.can(BOB, "songs")


# --- tokens bound to a user ------------------------------------------------------------------------------
def test_a_claim_without_user_signs_as_before() -> None:
    claim = MediaClaim("songs", "clips", 0, "a.wav", 2_000_000_000)
    token = sign_media(claim, SECRET)
    assert verify_media(token, SECRET) == claim
    payload = token.split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == ["songs", "clips", 0, "", "a.wav", 2_000_000_000]
    bound = MediaClaim("songs", "clips", 0, "a.wav", 2_000_000_000, viewer_tag(ALICE))
    assert verify_media(sign_media(bound, SECRET), SECRET) == bound
    assert ALICE not in sign_media(bound, SECRET)  # a copied link shows no address


@pytest.mark.parametrize(
    ("minted_for", "viewer", "policy", "allowed"),
    [
        (None, None, None, True),  # no sign-in, no policy: as always
        (ALICE, (ALICE, "sub-a"), None, True),
        (ALICE, ("ALICE@example.com",), None, True),
        (ALICE, (BOB,), None, False),  # minted for another user
        (ALICE, None, None, False),  # signed out
        (ALICE, (ALICE,), POLICY, True),
        (ALICE, (ALICE,), POLICY.changed("songs", ALICE, "read", allow=False), False),  # lost access: no replay
        (None, None, POLICY, False),  # an unbound token is no way around a policy
    ],
)
def test_check_viewer(minted_for, viewer, policy, allowed: bool) -> None:
    claim = MediaClaim("songs", "clips", 0, "a.wav", 2_000_000_000, viewer_tag(minted_for) if minted_for else None)
    if allowed:
        check_viewer(claim, viewer, policy)
    else:
        with pytest.raises(MediaDeniedError):
            check_viewer(claim, viewer, policy)


# --- the guarded route -----------------------------------------------------------------------------------
def _cookie(user: dict) -> str:
    from streamlit.web.server.server_util import get_cookie_secret
    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

    value = json.dumps({**user, "is_logged_in": True, "origin": "http://testserver"})
    return create_signed_value(get_cookie_secret(), auth.USER_COOKIE, value).decode()


def test_guarded_route_binds_tokens_to_users_and_follows_the_policy(file_kit, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(auth, "POLICY_SECONDS", 0)  # each request reads the policy afresh
    root = str(tmp_path / "registry")
    version, _ = log_media(file_kit, root, tmp_path)
    server = server_for(root, SECRET)
    app = Starlette(routes=auth.guarded(media_routes(lambda: server), lambda: server))
    alice, bob = {"email": ALICE, "sub": "a"}, {"email": BOB, "sub": "b"}
    open_url = server.url_for(version, "songs/a.wav")
    alices_url = server.url_for(version, "songs/a.wav", user=ALICE)
    with TestClient(app) as client:
        assert client.get(open_url).content == SONG  # no policy, no user: open as today
        client.cookies.set(auth.USER_COOKIE, _cookie(alice))
        assert client.get(alices_url).content == SONG
        client.cookies.set(auth.USER_COOKIE, _cookie(bob))
        refused = client.get(alices_url)
        assert refused.status_code == 403 and "another user" in refused.text
        client.cookies.clear()
        assert client.get(alices_url).status_code == 403  # signed out
        client.cookies.set(auth.USER_COOKIE, _cookie(alice) + "x")  # a forged cookie is no cookie
        assert client.get(alices_url).status_code == 403

        update_policy(root, lambda p: p.changed("songs", BOB, "read", allow=True))  # Alice is not on it
        client.cookies.set(auth.USER_COOKIE, _cookie(alice))
        denied = client.get(alices_url)
        assert denied.status_code == 403 and "ask its owner" in denied.text
        assert client.get(open_url).status_code == 403  # nor with a token minted before sign-in
        update_policy(root, lambda p: p.changed("songs", ALICE, "read", allow=True))
        assert client.get(alices_url).content == SONG
        assert client.get(server.url_for(version, "songs/a.wav", user=BOB)).status_code == 403
