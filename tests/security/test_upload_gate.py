"""Reflex's `/_upload` behind the gate: an anonymous 300 MB upload is refused before its body is read and the
server's temporary folder does not grow; a signed-in tab still uploads a file, and an oversized stream is cut.

The app runs with a temporary folder of its own (TMPDIR), so its size is what the upload costs the disk."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_dashboard.accounts import signin
from fleet_dashboard.api.upload_gate import UploadGate, upload_limit
from fleet_dashboard.web.state.send import SendState
from tests.support.server import PASSWORD, AppServer, free_port, own_database, running_app
from tests.support.wire import Tab
from tests.support.world import SECRET

MB = 1024 * 1024
HANDLER = f"{SendState.get_full_name()}.upload_file"
BOUNDARY = "fleetgate" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def upload_app(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, Path]]:
    """The app (simulator, served build) with a temporary folder of its own."""
    tmp = tmp_path_factory.mktemp("app-tmp")
    with own_database(pg_server, "fleet_upload") as url:
        log_path = tmp_path_factory.mktemp("upload") / "server.log"
        with running_app(url, port=free_port(3300, 3400), log_path=log_path,
                         env={"SECRET_KEY": SECRET, "TMPDIR": str(tmp)}) as server:
            yield server, tmp


def folder_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # a spooled file removed meanwhile
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def upload(port: int, total: int, *, cookie: str = "", client_token: str | None = None, chunked: bool = False,
           filename: str = "big.pdf", content: bytes = b"%PDF-1.4\n") -> tuple[int | None, int, str]:
    """POST a multipart file of `total` bytes to /_upload as a script would, streaming it from a socket.

    Returns (HTTP status or None, bytes sent before the server answered or closed, the answer's text)."""
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
            f"Content-Type: application/pdf\r\n\r\n").encode() + content
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    filler = total - len(head) - len(tail)
    headers = ["POST /_upload HTTP/1.1", f"Host: 127.0.0.1:{port}",
               f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
               f"reflex-client-token: {client_token or uuid.uuid4()}", f"reflex-event-handler: {HANDLER}",
               "Connection: close"]
    headers.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    if cookie:
        headers.append(f"Cookie: {signin.SIGNIN_COOKIE}={cookie}")
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0
    answer = b""

    def push(data: bytes) -> None:
        nonlocal sent
        sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
        sent += len(data)

    try:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        push(head)
        block = b"A" * MB
        while filler > 0:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:  # the server answered (refused) before the body was done: stop, as a client would
                break
            piece = block[:min(MB, filler)]
            push(piece)
            filler -= len(piece)
        else:
            push(tail)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return status, sent, answer.decode("utf-8", "replace")


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "streamed"])
def test_an_anonymous_300_mb_upload_is_refused_before_its_body_is_read(upload_app, chunked):
    server, tmp = upload_app
    port = int(server.base_url.rsplit(":", 1)[1])
    before = folder_size(tmp)
    started = time.monotonic()
    status, sent, _ = upload(port, 300 * MB, chunked=chunked)
    spent = time.monotonic() - started
    time.sleep(1.0)  # whatever the server spooled would be on disk by now
    after = folder_size(tmp)
    assert status in (401, 413), status
    assert after - before < MB, f"the temporary folder grew by {(after - before) / MB:.1f} MB"
    assert sent < 300 * MB, f"the server took all {sent / MB:.0f} MB before answering ({spent:.1f} s)"


def test_an_expired_or_forged_session_is_anonymous_too(upload_app):
    server, tmp = upload_app
    port = int(server.base_url.rsplit(":", 1)[1])
    before = folder_size(tmp)
    forged = signin.issue_token(user_id=uuid.uuid4())  # signed with the test process's key, not the app's
    status, sent, _ = upload(port, 50 * MB, cookie=forged, chunked=True)
    assert status == 401 and folder_size(tmp) - before < MB


def test_a_signed_in_tab_uploads_a_file_and_an_endless_stream_is_cut_at_the_limit(upload_app):
    server, tmp = upload_app
    port = int(server.base_url.rsplit(":", 1)[1])
    owner = server.owner()
    tab = Tab(server.base_url)
    try:
        tab.hydrate("/login")
        token = tab.login(owner.email, PASSWORD)
        tab.send(f"{SendState.get_full_name()}.load", path="/send")
        status, _, answer = upload(port, 4096, cookie=token, client_token=tab.client_token, filename="invoice.pdf")
        assert status == 200, f"a signed-in tab's upload passes the gate: {answer[:500]}"
        assert "invoice.pdf" in answer, f"the upload reached the send page's handler: {answer[:500]}"
        before = folder_size(tmp)
        status, sent, _ = upload(port, 200 * MB, cookie=token, client_token=tab.client_token, chunked=True)
        assert status == 413, status
        assert sent < 200 * MB
        time.sleep(1.0)
        assert folder_size(tmp) - before <= upload_limit() + MB
    finally:
        tab.close()


@pytest.mark.anyio
async def test_the_gate_reads_nothing_before_it_decides(database_url):
    """In process: a downstream app that would read the body is never called for an anonymous upload."""
    import httpx

    called = []

    async def downstream(scope, receive, send):
        called.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = UploadGate(downstream, max_bytes=1000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gate), base_url="http://t") as c:
        anonymous = await c.post("/_upload", content=b"x" * 10)
        too_big = await c.post("/_upload", content=b"x" * 2000)
        other = await c.post("/api/anything", content=b"x" * 2000)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert (too_big.status_code, too_big.json()["code"]) == (413, "body_too_large")
    assert other.status_code == 204 and called == ["/api/anything"]
