"""Sign-in (optional, OIDC through ``st.login``) and who may see which project.

Sign-in is on when Streamlit's secrets hold an ``[auth]`` section
(``redirect_uri``, ``cookie_secret``, ``client_id``, ``client_secret``,
``server_metadata_url``), from ``.streamlit/secrets.toml`` or any file named
by ``STREAMLIT_SECRETS_FILES`` (``--secrets.files``), so a deployment needs no
file in the repository. Without it the app is open, as it always was.

Who may see a project is the registry's :class:`shanty.access.AccessPolicy`
(``shanty access grant ...``); this module only asks it, with the viewer's
identities (e-mail, then OIDC subject). The pickers filter their projects and
the catalog through :func:`visible_projects`; media links are minted for the
viewer (:func:`link_user`) and every token route is wrapped by
:func:`guarded`, which reads the viewer from Streamlit's signed sign-in
cookie (the routes run outside any session) and refuses a token minted for
someone else or for a project the viewer may no longer read. The policy is
re-read every ``POLICY_SECONDS``, so a revoked user loses access within that.
Views that write (a version's note and aliases, a saved join, the demo) ask
:func:`write_denied`: with a policy, a viewer without write access sees those
controls disabled beside one sentence saying who may write, and the view asks
again, reading the policy afresh, just before it writes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import anyio
import streamlit as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.routes.media import SECURITY_HEADERS
from dashboard.widgets.plain import plain
from shanty.access import EVERYONE, AccessPolicy, load_policy
from shanty.demo.build import DEMO_PROJECT
from shanty.errors import InvalidTokenError, StorageError
from shanty.media.server import MediaServer
from shanty.media.tokens import check_viewer

__all__ = [
    "POLICY_SECONDS",
    "auth_configured",
    "can_write",
    "current_viewer",
    "demo_denied",
    "guarded",
    "link_user",
    "nothing_readable",
    "policy",
    "sign_in_bar",
    "viewer_from_cookies",
    "visible_projects",
    "write_denied",
]

POLICY_SECONDS = 5  # how long a read policy is trusted: the longest a revoked user keeps access
USER_COOKIE = "_streamlit_user"  # Streamlit's signed sign-in cookie (streamlit.web.server.server_util)

_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
_lock = threading.Lock()
_policies: dict[str, tuple[AccessPolicy | None, float]] = {}


def auth_configured() -> bool:
    """Whether Streamlit's secrets hold an ``[auth]`` section (sign-in on)."""
    return bool(st.secrets.load_if_toml_exists() and st.secrets.get("auth"))


def _identities(user: dict) -> tuple[str, ...]:
    # E-mail first: it is what people grant; the subject second, for providers that give no e-mail.
    return tuple(str(user[k]) for k in ("email", "sub") if user.get(k))


def current_viewer() -> tuple[str, ...] | None:
    """The signed-in user's identities (e-mail, subject) in this session; None when signed out, when
    sign-in is off, or outside a script run."""
    if get_script_run_ctx(suppress_warning=True) is None or not auth_configured() or not st.user.is_logged_in:
        return None
    return _identities(st.user.to_dict()) or None


def link_user() -> str | None:
    """Whom this session's media links are minted for (the viewer's first identity); None without sign-in."""
    viewer = current_viewer()
    return viewer[0] if viewer else None


def policy(root: str) -> AccessPolicy | None:
    """The access policy of the registry at ``root`` (None: none, everything open), re-read at most every
    :data:`POLICY_SECONDS` (one listing and one read)."""
    now = time.monotonic()
    with _lock:
        found = _policies.get(root)
    if found is not None and found[1] > now:
        return found[0]
    current = load_policy(root)
    with _lock:
        _policies[root] = (current, now + POLICY_SECONDS)
    return current


def visible_projects(root: str, projects: Iterable[str]) -> list[str]:
    """The ``projects`` this session's viewer may read (all of them without a policy)."""
    projects = list(projects)
    found = policy(root)
    return projects if found is None else found.readable(current_viewer(), projects)


def _listed(users: list[str]) -> str:
    shown = [plain(u) for u in users[:3]] + ([f"{len(users) - 3} others"] if len(users) > 3 else [])
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def write_denied(root: str, project: str, *, fresh: bool = False) -> str | None:
    """None when this session's viewer may change ``project`` in the registry at ``root`` (always without
    a policy); else one sentence saying who may and that the viewer may not, for the view to show beside
    its disabled controls. The rule is the policy's (:meth:`AccessPolicy.can` with ``"write"``). A view
    asks with ``fresh=True`` again just before it writes, so a widget enabled a moment ago, a forged
    click or a grant revoked within :data:`POLICY_SECONDS` writes nothing. Raises StorageError when the
    policy cannot be read."""
    if fresh:  # re-read now rather than trust the last POLICY_SECONDS
        with _lock:
            _policies.pop(root, None)
    found = policy(root)
    viewer = current_viewer()
    if found is None or found.can(viewer, project, "write"):
        return None
    writers = sorted(found.grant_for(project).write)
    if EVERYONE in writers:  # then only a signed-out viewer is refused
        return f"Every signed-in user may change project {plain(project)}, but you are not signed in; sign in to change it."
    who = (
        f"Only {_listed(writers)} may change project {plain(project)}"
        if writers
        else f"Nobody may change project {plain(project)} yet"
    )
    if viewer is None:
        return f"{who}, and you are not signed in; sign in with an account that has write access."
    return (
        f"{who}, and {plain(viewer[0])} has no write access to it; ask whoever manages the registry to run "
        f"`shanty access grant {project} {viewer[0]} --write`."
    )


def nothing_readable(root: str, projects: Iterable[str]) -> str | None:
    """One sentence for a viewer the policy lets read none of the registry's ``projects`` (so the views
    do not call the registry empty), else None: always None without a policy or without projects."""
    projects = list(projects)
    found = policy(root)
    if found is None or not projects or found.readable(current_viewer(), projects):
        return None
    viewer = current_viewer()
    if viewer is None:
        return "This registry's projects are shown only to those given access; sign in to see yours."
    return (
        f"{plain(viewer[0])} may read none of this registry's projects; ask whoever manages the registry to run "
        f"`shanty access grant PROJECT {viewer[0]}`."
    )


def can_write(root: str, project: str) -> bool:
    """Whether this session's viewer may change ``project`` (see :func:`write_denied`)."""
    return write_denied(root, project) is None


def demo_denied(root: str, *, fresh: bool = False) -> str | None:
    """:func:`write_denied` for the project the demo workspace is logged into (the "Load the demo" button)."""
    return write_denied(root, DEMO_PROJECT, fresh=fresh)


def sign_in_bar() -> None:
    """The sidebar's sign-in / sign-out control; nothing when sign-in is off."""
    if not auth_configured():
        return
    with st.sidebar:
        if st.user.is_logged_in:
            who = (current_viewer() or ("?",))[0]
            st.caption(f"Signed in as {plain(who)}")
            if st.button("Sign out", key="shanty-sign-out"):
                st.logout()
        else:
            st.caption("Sign in to see the projects you were given access to.")
            if st.button("Sign in", key="shanty-sign-in", type="primary"):
                st.login()


def viewer_from_cookies(cookies: dict[str, str]) -> tuple[str, ...] | None:
    """The identities in Streamlit's signed sign-in cookie (None: absent, forged or expired), for routes,
    which see the request but not the session."""
    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.server_util import get_cookie_secret
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    secret = get_cookie_secret()

    def single(name: str) -> bytes | None:
        raw = cookies.get(name)
        return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

    decoded = get_cookie_with_chunks(single, USER_COOKIE)
    if decoded is None:
        return None
    try:
        user = json.loads(decoded)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(user, dict) or not user.get("is_logged_in"):
        return None
    return _identities(user) or None


class _Guard:
    """An ASGI app in front of a token route: refuses (403) a token its requester may not use."""

    def __init__(self, inner: Callable, get_server: Callable[[], MediaServer]):
        self.inner = inner
        self.get_server = get_server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        token = request.path_params.get("token", "")
        try:
            await anyio.to_thread.run_sync(self._check, token, dict(request.cookies))
        except StorageError:  # the policy could not be read: refuse rather than guess
            response = PlainTextResponse(
                "The access policy could not be read; try again shortly.", status_code=502, headers=_HEADERS
            )
            await response(scope, receive, send)
            return
        except InvalidTokenError as exc:
            response = PlainTextResponse(str(exc), status_code=403, headers=_HEADERS)
            await response(scope, receive, send)
            return
        await self.inner(scope, receive, send)

    def _check(self, token: str, cookies: dict[str, str]) -> None:
        server = self.get_server()
        claim = server.claim(token)
        found = policy(server.registry.root)
        if claim.user is None and found is None:
            return  # an app without sign-in and a registry without a policy: as it always was
        check_viewer(claim, viewer_from_cookies(cookies), found)


def guarded(routes: Sequence[Route], get_server: Callable[[], MediaServer]) -> list[Route]:
    """``routes`` (token routes: media and previews) each behind a check of who asks (see the module
    docstring); the token itself is still checked by the route."""
    return [
        Route(route.path, _Guard(route.app, get_server), methods=sorted(route.methods or ()), name=route.name)
        for route in routes
    ]
