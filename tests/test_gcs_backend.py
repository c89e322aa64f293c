"""GCS-specific behaviour of ``GCSStorage``, against fake-gcs-server.

Where the emulator cannot show a real GCS behaviour (composites without MD5,
403 / 401 answers, IAM signBlob) a test says so and uses the narrowest
stand-in: the real exception from a real HTTP answer where possible. What every
backend does alike (pins, folder markers, create-if-absent races, ranged reads)
is in ``test_backend_contract.py``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import ParseResult, parse_qs, urlparse

import google.auth
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth import exceptions as auth_errors
from google.auth.credentials import Credentials
from google.cloud import storage
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

import shanty
from shanty.digests import file_matches, md5_b64_bytes
from shanty.errors import InvalidInputError, NotFoundError, StorageError
from shanty.progress import Progress
from shanty.storage import reset_storage_cache
from shanty.storage.gcs import GCSStorage
from tests.kits.gcs import FakeGcs, GcsKit, plain_client


def fill(kit: GcsKit, bucket: str, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        kit.put(f"{bucket}/{key}", data)


def generation_of(kit: GcsKit, uri: str) -> int:
    bucket, _, key = uri.removeprefix("gs://").partition("/")
    return kit.client.bucket(bucket).get_blob(key).generation


# --- listing --------------------------------------------------------------------------
def test_listing_records_checksums_and_generation(gcs_kit: GcsKit) -> None:
    bucket = gcs_kit.new_bucket()
    fill(gcs_kit, bucket, {"d/a.wav": b"alpha"})
    (info,) = gcs_kit.storage.list_objects(f"{bucket}/d")
    assert info.uri == f"{bucket}/d/a.wav"
    assert info.digest == info.extra["md5"] == md5_b64_bytes(b"alpha")
    assert info.object_version == str(generation_of(gcs_kit, info.uri))
    assert set(info.extra) == {"md5", "crc32c", "etag", "last_modified", "content_type"}
    assert gcs_kit.storage.stat(info.uri) == info  # a single object's relpath is its base name, here "a.wav"
    assert gcs_kit.storage.stat(f"{bucket}/d/missing.wav") is None
    assert gcs_kit.storage.stat(bucket) is None and not gcs_kit.storage.exists(bucket)  # a bucket is no object
    with pytest.raises(InvalidInputError, match="not an object"):
        gcs_kit.storage.read_bytes(f"{bucket}/d/")


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ParseResult]]:
    """Every HTTP request sent during the test, as (thread id, parsed URL)."""
    made: list[tuple[int, ParseResult]] = []
    original = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        if kwargs.get("params"):  # a listing page passes its query apart from the URL
            url = requests.Request(method, url, params=kwargs["params"]).prepare().url
        made.append((threading.get_ident(), urlparse(url)))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    return made


def object_requests(made: list[tuple[int, ParseResult]]) -> list[tuple[int, ParseResult]]:
    # google-cloud-storage also fetches bucket metadata in the background for its telemetry.
    return [(thread, url) for thread, url in made if "/o" in url.path]


def test_listing_makes_no_per_object_request(gcs_kit: GcsKit, requests_made) -> None:
    bucket = gcs_kit.new_bucket()
    fill(gcs_kit, bucket, {f"flat/{i:02d}.wav": b"x" * i for i in range(30)})
    requests_made.clear()
    assert len(gcs_kit.storage.list_objects(f"{bucket}/flat")) == 30
    # One lookup of an object named "flat", then one listing page.
    (_, lookup), (_, listing) = object_requests(requests_made)
    assert lookup.path.endswith("/o/flat") and listing.path.endswith("/o")
    # fake-gcs-server ignores `fields` and sends everything; real GCS sends only what is asked for.
    (fields,) = parse_qs(listing.query)["fields"]
    needed = {"name", "size", "md5Hash", "crc32c", "etag", "generation", "updated", "contentType", "nextPageToken"}
    assert needed <= set(re.findall(r"\w+", fields))


def test_composite_object_is_referenced_and_verified_by_crc32c(
    gcs_kit: GcsKit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = gcs_kit.new_bucket()
    fill(gcs_kit, bucket, {"parts/1": b"first half, ", "parts/2": b"second half"})
    source = gcs_kit.client.bucket(bucket.removeprefix("gs://"))
    source.blob("joined/whole.wav").compose([source.blob("parts/1"), source.blob("parts/2")])
    # Real GCS gives composite objects no MD5; fake-gcs-server computes one anyway,
    # so hide it the way GCS's listing would leave it out (from listing pages and from Blobs).
    monkeypatch.setattr(storage.Blob, "md5_hash", property(lambda blob: None))
    page = GCSStorage._page

    def without_md5(self, bucket_name, query):
        found = json.loads(page(self, bucket_name, query))
        found["items"] = [{k: v for k, v in item.items() if k != "md5Hash"} for item in found.get("items", [])]
        return json.dumps(found).encode()

    monkeypatch.setattr(GCSStorage, "_page", without_md5)
    (info,) = gcs_kit.storage.list_objects(f"{bucket}/joined")
    assert "md5" not in info.extra
    assert info.digest == "crc32c:" + info.extra["crc32c"]

    with shanty.init(project="compose", job_type="upload") as run:
        artifact = shanty.Artifact("whole", type="raw_data")
        artifact.add_reference(f"{bucket}/joined")
        version = run.log_artifact(artifact)
    first = version.download_report(tmp_path / "dl")
    assert (tmp_path / "dl" / "whole.wav").read_bytes() == b"first half, second half"
    assert file_matches(tmp_path / "dl" / "whole.wav", info.digest, info.extra) is True
    (tmp_path / "dl" / "whole.wav").write_bytes(b"first half, SECOND half")
    assert file_matches(tmp_path / "dl" / "whole.wav", info.digest, info.extra) is False
    second = version.download_report(tmp_path / "dl")
    assert (first.downloaded, second.present, second.downloaded) == (("whole.wav",), (), ("whole.wav",))


def test_unversioned_overwrite_loses_the_old_generation(gcs_kit: GcsKit, tmp_path: Path) -> None:
    bucket = gcs_kit.new_bucket(versioned=False)
    gcs_kit.put(f"{bucket}/a.wav", b"before")
    (old,) = gcs_kit.storage.list_objects(f"{bucket}/a.wav")
    gcs_kit.put(f"{bucket}/a.wav", b"after")
    with pytest.raises(NotFoundError, match=f"generation {old.object_version} no longer exists"):
        gcs_kit.storage.download(old.uri, old.object_version, tmp_path / "old")
    assert gcs_kit.storage.stat(old.uri, old.object_version) is None
    gcs_kit.storage.download(old.uri, None, tmp_path / "now")
    assert (tmp_path / "now").read_bytes() == b"after"


def test_fan_out_listing_equals_a_plain_listing(gcs_kit: GcsKit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = gcs_kit.new_bucket()
    files = {f"tree/top{i}.wav": b"t" * i for i in range(3)}
    files |= {f"tree/{branch}/{i}.wav": f"{branch}{i}".encode() for branch in "abcdefg" for i in range(4)}
    files |= {"tree/a/deeper/x.wav": b"deep", "tree/a/": b"", "treex/outside.wav": b"no"}
    files |= {"chain/only/one/level/file.wav": b"at the end of a single chain"}
    fill(gcs_kit, bucket, files)
    monkeypatch.setattr(GCSStorage, "page_size", 3)  # several pages in every branch
    name = bucket.removeprefix("gs://")
    for prefix in ("tree", "chain", ""):
        plain = {
            (blob.name.removeprefix(f"{prefix}/" if prefix else ""), blob.size, blob.md5_hash, str(blob.generation))
            for blob in gcs_kit.client.list_blobs(name, prefix=f"{prefix}/" if prefix else None)
            if not blob.name.endswith("/")
        }
        listed = gcs_kit.storage.list_objects(f"{bucket}/{prefix}" if prefix else bucket)  # gs://b: whole bucket
        assert [(o.relpath, o.size, o.digest, o.object_version) for o in listed] == sorted(plain)


def test_a_listing_asks_for_its_pages_in_order_each_with_the_last_token(
    gcs_kit: GcsKit, requests_made, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = gcs_kit.new_bucket()
    fill(gcs_kit, bucket, {f"root/only/{branch}/{i}.wav": b"x" for branch in "abcde" for i in range(2)})
    fill(gcs_kit, bucket, {"rootless.wav": b"outside the prefix", "root": b"a file beside the folder"})
    monkeypatch.setattr(GCSStorage, "page_size", 3)
    requests_made.clear()
    listed = gcs_kit.storage.list_objects(f"{bucket}/root/")
    assert [o.relpath for o in listed] == sorted(f"only/{branch}/{i}.wav" for branch in "abcde" for i in range(2))
    queries = [parse_qs(url.query) for _, url in object_requests(requests_made) if url.path.endswith("/o")]
    assert len(queries) == 4 and all(query["prefix"] == ["root/"] for query in queries)
    assert "pageToken" not in queries[0] and all("pageToken" in query for query in queries[1:])


def test_max_objects_is_an_error_and_stops_early(
    gcs_kit: GcsKit, requests_made, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = gcs_kit.new_bucket()
    fill(gcs_kit, bucket, {f"many/{b}/{i}.wav": b"x" for b in "abc" for i in range(5)})
    fill(gcs_kit, bucket, {f"big/{b}/{i:02d}.wav": b"x" for b in "xy" for i in range(20)})
    with pytest.raises(InvalidInputError, match="max_objects=14"):
        gcs_kit.storage.list_objects(f"{bucket}/many", max_objects=14)
    assert len(gcs_kit.storage.list_objects(f"{bucket}/many", max_objects=15)) == 15
    monkeypatch.setattr(GCSStorage, "page_size", 2)
    requests_made.clear()
    with pytest.raises(InvalidInputError):
        gcs_kit.storage.list_objects(f"{bucket}/big", max_objects=3)
    # A lookup, a delimiter listing, then about a page per branch: not the 20 pages of 40 objects.
    assert len(object_requests(requests_made)) <= 6


def test_a_failing_branch_stops_the_other_workers(gcs_kit: GcsKit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = gcs_kit.new_bucket()
    fill(gcs_kit, bucket, {f"big/{b}/{i:02d}.wav": b"x" for b in "xy" for i in range(20)})
    monkeypatch.setattr(GCSStorage, "page_size", 2)
    calls: list[int] = []

    def cancel_once(done: int, total: int | None, label: str) -> None:
        calls.append(done)
        if len(calls) == 1:  # e.g. the user pressed Cancel in the dashboard
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        gcs_kit.storage.list_objects(f"{bucket}/big", progress=Progress("listing", sink=cancel_once))
    assert len(calls) <= 3  # the other branch stopped within a page instead of listing its 10 pages


# --- errors -------------------------------------------------------------------------------
def test_no_such_bucket_names_it(gcs_kit: GcsKit) -> None:
    missing = "gs://shanty-no-such-bucket"
    with pytest.raises(NotFoundError, match="bucket shanty-no-such-bucket does not exist"):
        gcs_kit.storage.list_objects(f"{missing}/songs")
    with pytest.raises(NotFoundError, match="shanty-no-such-bucket"):
        gcs_kit.storage.list_names(f"{missing}/registry")
    with pytest.raises(NotFoundError, match="shanty-no-such-bucket"):
        gcs_kit.storage.read_bytes(f"{missing}/registry/shanty.json")


# --- what the emulator cannot do: denial and missing credentials -----------------------------
@pytest.fixture
def refusing_server() -> Iterator[tuple[str, list[int]]]:
    """A local HTTP server answering every request with the status in ``status[0]`` and GCS's JSON error body.

    fake-gcs-server never denies access, so this stands in for GCS's 403 / 401
    answers; the google client raises its real exception types from them.
    """
    status = [403]

    class Handler(BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            caller = "Anonymous caller" if status[0] == 401 else "someone@example.com"
            message = f"{caller} does not have storage.objects.list access to the Google Cloud Storage bucket."
            body = json.dumps({"error": {"code": status[0], "message": message}})
            self.send_response(status[0])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_POST = do_PUT = do_DELETE = _refuse

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", status
    server.shutdown()
    server.server_close()


def test_access_denied_is_one_sentence(refusing_server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = refusing_server
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
    backend = GCSStorage()
    with pytest.raises(StorageError, match=r"Access to the bucket private-songs was denied .*Storage Object Viewer"):
        backend.list_objects("gs://private-songs/whales")
    with pytest.raises(StorageError, match="private-songs was denied"):
        backend.create_if_absent("gs://private-songs/reg/x.json", b"{}")


def test_no_credentials_and_a_private_bucket(refusing_server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, status = refusing_server
    status[0] = 401
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("API_ENDPOINT_OVERRIDE", url)

    # The real lookup ends by probing the GCE metadata server, which this sandbox must not contact.
    def no_credentials(*args: object, **kwargs: object):
        raise auth_errors.DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_credentials)
    with pytest.raises(StorageError, match="No Google Cloud credentials were found and the bucket private-songs"):
        GCSStorage().list_objects("gs://private-songs/whales")
    monkeypatch.delenv("API_ENDPOINT_OVERRIDE")
    public = GCSStorage().signed_url("gs://public-songs/a b.wav", "42", 600)
    assert public == "https://storage.googleapis.com/public-songs/a%20b.wav?generation=42"


def test_broken_credentials_file_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(StorageError, match=r"GOOGLE_APPLICATION_CREDENTIALS=.*missing\.json cannot be used"):
        GCSStorage().list_objects("gs://songs/whales")


# --- signed URLs -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_file_credentials(key: rsa.RSAPrivateKey) -> service_account.Credentials:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return service_account.Credentials.from_service_account_info(
        {
            "type": "service_account",
            "client_email": "shanty-test@example-project.iam.gserviceaccount.com",
            "private_key": pem.decode(),
            "private_key_id": "test-key",
            "token_uri": "https://oauth2.googleapis.com/token",
            "project_id": "example-project",
        }
    )


def old_generation_object(kit: GcsKit) -> tuple[str, int]:
    """An object overwritten in a versioned bucket: (uri, generation of its first content)."""
    uri = kit.new_bucket(versioned=True) + "/media/song one.wav"
    kit.put(uri, b"0123456789 the first take")
    first = generation_of(kit, uri)
    kit.put(uri, b"abcdefghij the second take")
    return uri, first


def test_key_file_signs_a_v4_url_the_emulator_serves(gcs_kit: GcsKit, rsa_key, monkeypatch) -> None:
    uri, first = old_generation_object(gcs_kit)
    credentials = key_file_credentials(rsa_key)
    signed: list[bytes] = []
    sign_bytes = service_account.Credentials.sign_bytes  # spied on the class: the client signs with a scoped copy
    monkeypatch.setattr(
        service_account.Credentials,
        "sign_bytes",
        lambda self, message: signed.append(message) or sign_bytes(self, message),
    )
    url = GCSStorage(credentials=credentials).signed_url(uri, str(first), 900)

    query = parse_qs(urlparse(url).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["900"]
    assert query["generation"] == [str(first)]
    assert query["X-Goog-Credential"][0].startswith("shanty-test@example-project.iam.gserviceaccount.com/")
    signature = bytes.fromhex(query["X-Goog-Signature"][0])
    rsa_key.public_key().verify(signature, signed[0], padding.PKCS1v15(), hashes.SHA256())  # raises if not ours
    # The emulator checks no signature, but serves the path, the generation and ranges.
    response = requests.get(url, headers={"Range": "bytes=0-9"}, timeout=10)
    assert (response.status_code, response.content) == (206, b"0123456789")


def test_token_credentials_sign_through_iam(gcs_kit: GcsKit, rsa_key, monkeypatch) -> None:
    class ComputeToken(Credentials):
        """A token-only credential with a service account, like Compute Engine's after refresh."""

        service_account_email = "runner@example-project.iam.gserviceaccount.com"

        def __init__(self) -> None:
            super().__init__()
            self.token = "ya29.token"

        def refresh(self, request: object) -> None:
            raise AssertionError("the token is still valid; no refresh expected")

    signed: list[bytes] = []
    original = requests.Session.request

    # IAM signBlob is a Google service neither reachable nor emulated here: answer its HTTP call
    # the way IAM does, signing with the throwaway key; everything else goes through.
    def iam(self, method, url, *args, data=None, headers=None, **kwargs):
        if not url.startswith("https://iamcredentials.googleapis.com/"):
            return original(self, method, url, *args, data=data, headers=headers, **kwargs)
        assert f"/serviceAccounts/{ComputeToken.service_account_email}:signBlob" in url
        assert headers["Authorization"] == "Bearer ya29.token"
        message = base64.b64decode(json.loads(data)["payload"])
        signed.append(message)
        signature = rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        answer = requests.Response()
        answer.status_code = 200
        answer._content = json.dumps({"keyId": "k", "signedBlob": base64.b64encode(signature).decode()}).encode()
        return answer

    monkeypatch.setattr(requests.Session, "request", iam)
    uri, first = old_generation_object(gcs_kit)
    url = GCSStorage(credentials=ComputeToken()).signed_url(uri, str(first), 60)
    query = parse_qs(urlparse(url).query)
    assert len(signed) == 1
    signature = bytes.fromhex(query["X-Goog-Signature"][0])
    rsa_key.public_key().verify(signature, signed[0], padding.PKCS1v15(), hashes.SHA256())  # IAM's answer is used
    assert query["X-Goog-Credential"][0].startswith(ComputeToken.service_account_email + "/")
    assert (query["X-Goog-Expires"], query["generation"]) == (["60"], [str(first)])

    user = user_credentials.Credentials(token="ya29.user")  # no service account: cannot sign
    assert GCSStorage(credentials=user).signed_url(uri, str(first), 60) is None
    with pytest.raises(InvalidInputError, match="expires_in"):
        GCSStorage(credentials=user).signed_url(uri, None, 8 * 24 * 3600)


def test_anonymous_url_on_the_emulator_serves_that_generation(gcs_kit: GcsKit) -> None:
    uri, first = old_generation_object(gcs_kit)
    url = gcs_kit.storage.signed_url(uri, str(first), 600)
    assert url.startswith(plain_client().api_endpoint) and url.endswith(f"?generation={first}")
    response = requests.get(url, headers={"Range": "bytes=0-9"}, timeout=10)
    assert (response.status_code, response.content) == (206, b"0123456789")


# --- a store that goes down ---------------------------------------------------------------
@pytest.fixture
def doomed_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGcs]:
    """A second fake-gcs-server (the session's one must survive) with a 1 s retry budget."""
    server = FakeGcs().start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    monkeypatch.setenv("SHANTY_GCS_RETRY_DEADLINE", "1")
    reset_storage_cache()
    yield server
    server.stop()
    reset_storage_cache()  # runs before monkeypatch restores the session's emulator


def test_retry_deadline_must_be_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANTY_GCS_RETRY_DEADLINE", "soon")
    with pytest.raises(InvalidInputError, match="SHANTY_GCS_RETRY_DEADLINE='soon'"):
        GCSStorage()


def test_server_dying_mid_listing_fails_fast_and_writes_nothing(doomed_server: FakeGcs, monkeypatch) -> None:
    client = plain_client()
    bucket = client.bucket("doomed")
    bucket.create()
    for i in range(10):
        bucket.blob(f"songs/{i}.wav").upload_from_string(b"x")
    monkeypatch.setattr(GCSStorage, "page_size", 2)
    pages: list[int] = []

    def kill_after_first_page(done: int, total: int | None, label: str) -> None:
        pages.append(done)
        doomed_server.stop()

    artifact = shanty.Artifact("songs", type="raw_data")
    with shanty.init(project="doomed", job_type="upload"):  # the registry: a local folder under SHANTY_ROOT
        started = time.monotonic()
        with pytest.raises(StorageError, match="did not answer for the bucket doomed"):
            artifact.add_reference("gs://doomed/songs", progress_sink=kill_after_first_page)
        assert time.monotonic() - started < 10
    assert pages[0] == 2 and len(pages) <= 4  # pages fetched ahead before the server died may still count
    assert len(artifact.manifest) == 0
    assert shanty.Registry().artifact_names("doomed") == []
    with pytest.raises(NotFoundError):
        shanty.Registry().versions("doomed", "songs")


# --- listing pages as columns -----------------------------------------------------------------
def test_page_columns_print_times_and_extra_as_the_blob_path_did() -> None:
    from google.cloud._helpers import _rfc3339_nanos_to_datetime

    from shanty.storage.gcs_listing import decode_page, page_batch

    times = [
        "2026-11-28T03:33:04.321930Z",
        "2026-11-28T03:33:04Z",
        "2026-11-28T03:33:04.000Z",
        "2026-11-28T03:33:04.5Z",
    ]
    times += ["2026-11-28T03:33:04.123456789Z", "2026-11-28T03:33:04.000000900Z", "2026-11-28T03:33:04.120Z"]
    items = [
        {"name": f"p/{i}.wav", "size": str(i), "md5Hash": "bWQ1", "crc32c": "Y3Jj", "etag": "e", "generation": str(i)}
        | {"updated": updated, "contentType": 'audio/"odd"\u00e9' if i == 0 else "audio/wav"}
        for i, updated in enumerate(times)
    ]
    items.append({"name": "p/folder/", "size": "0", "crc32c": "AAAAAA==", "generation": "9"})  # a marker: left out
    items.append({"name": "p/composite.wav", "size": 7, "crc32c": "Y3Jj", "generation": 8, "md5Hash": ""})
    body = json.dumps({"kind": "storage#objects", "items": items, "nextPageToken": "next"}, indent=1).encode()
    page = decode_page(body)  # numbers where GCS sends text: Arrow's reader refuses, json decodes
    assert page.token == "next"
    rows = page_batch(page.items, "b", "p/").to_pylist()
    expected = [
        {"md5": "bWQ1", "crc32c": "Y3Jj", "etag": "e", "last_modified": _rfc3339_nanos_to_datetime(updated).isoformat()}
        | {"content_type": items[i]["contentType"]}
        for i, updated in enumerate(times)
    ] + [{"crc32c": "Y3Jj"}]
    assert [json.loads(row["extra"]) for row in rows] == expected
    assert [row["extra"] for row in rows] == [json.dumps(extra, sort_keys=True) for extra in expected]
    assert [row["digest"] for row in rows] == ["bWQ1"] * len(times) + ["crc32c:Y3Jj"]
    assert rows[-1] | {"extra": None} == {
        "relpath": "composite.wav",
        "digest": "crc32c:Y3Jj",
        "size": 7,
        "uri": "gs://b/p/composite.wav",
        "object_version": "8",
        "extra": None,
    }
    assert decode_page(json.dumps({"kind": "storage#objects"}).encode()).items.to_pylist() == []
