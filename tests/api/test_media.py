"""Documents and images through the API, direct and queued, against the live stack (simulator, real PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import io
import zlib

import pytest
from sqlalchemy import text

from tests.api.test_sending import PHONE, connected_org
from tests.support.api import headers
from tests.support.live import SIMULATOR

pytestmark = pytest.mark.anyio

WELCOME = {"customer_name": "x", "company_name": "y", "plan_name": "z", "expiry_date": "2026-12-31"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 2000


def png(width: int = 4, height: int = 4) -> bytes:
    """A real PNG (so the signature check and any image tool accept it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def counts(db, org_id) -> tuple[int, int, int]:
    db.rollback()
    return tuple(db.execute(text(f"SELECT count(*) FROM {t} WHERE org_id = :o"), {"o": org_id}).scalar()
                 for t in ("whatsapp_messages", "notification_queue", "whatsapp_media"))


async def sent_log(live, org_id) -> list[dict]:
    r = await live.client.get(f"/api/simulator/{org_id}/sent?kind=message", headers=SIMULATOR)
    assert r.status_code == 200, r.text
    return r.json()["messages"]


async def test_a_document_is_sent_with_its_caption_and_shows_its_file(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    r = await live.client.post("/api/messages/send", headers=h, json={
        "recipient": PHONE, "type": "document", "message": "فاتورة شهر نوفمبر",
        "media": {"base64": b64(PDF), "filename": "INV-1001.pdf", "mime_type": "application/pdf"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "sent"
    got = (await live.client.get(f"/api/messages/{r.json()['message_id']}", headers=h)).json()["message"]
    assert got["message_type"] == "document" and got["message_body"] == "فاتورة شهر نوفمبر"
    assert got["media"] == {"filename": "INV-1001.pdf", "mime_type": "application/pdf", "size": len(PDF),
                            "sha256": hashlib.sha256(PDF).hexdigest()}
    [logged] = await sent_log(live, org.id)
    assert logged["message_type"] == "document" and logged["filename"] == "INV-1001.pdf"
    assert logged["size"] == len(PDF) and logged["text"] == "فاتورة شهر نوفمبر"
    # The list shows the file too, and receipts move it forward like text.
    listed = (await live.client.get("/api/messages", headers=h)).json()["messages"]
    assert listed[0]["media"]["filename"] == "INV-1001.pdf"
    await live.until(lambda: _status(db, got["id"]) == "delivered", what="the document's receipt")


def _status(db, message_id):
    db.rollback()
    return db.execute(text("SELECT status FROM whatsapp_messages WHERE id = :i"), {"i": message_id}).scalar()


async def test_an_image_without_caption_and_the_same_file_twice_is_stored_once(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    image = png()
    for _ in range(2):
        r = await live.client.post("/api/messages/send", headers=h, json={
            "recipient": PHONE, "type": "image", "media": {"base64": b64(image), "filename": "truck.png"}})
        assert r.status_code == 200 and r.json()["status"] == "sent", r.text
    assert counts(db, org.id)[2] == 1
    logged = await sent_log(live, org.id)
    assert [e["message_type"] for e in logged] == ["image", "image"]


async def test_send_template_and_queued_notifications_carry_the_file(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    variables = {"customer_name": "أحمد", "amount": "1500", "due_date": "2026-12-05"}
    media = {"base64": b64(PDF), "filename": "INV-7.pdf", "mime_type": "application/pdf"}
    r = await live.client.post("/api/messages/send-template", headers=h, json={
        "recipient": PHONE, "template_name": "payment_reminder", "variables": variables, "media": media})
    assert r.status_code == 200, r.text
    got = (await live.client.get(f"/api/messages/{r.json()['message_id']}", headers=h)).json()["message"]
    assert got["message_type"] == "document" and got["template_name"] == "payment_reminder"
    assert "أحمد" in got["message_body"]  # the rendered template is the caption

    r = await live.client.post("/api/notifications", headers=h, json={
        "recipient": PHONE, "template_name": "payment_reminder", "variables": variables, "media": media})
    assert r.status_code == 202, r.text
    nid = r.json()["id"]

    async def done():
        n = (await live.client.get(f"/api/notifications/{nid}", headers=h)).json()["notification"]
        return n if n["status"] == "completed" else None

    notification = await live.until(done, what="the queued document to be sent")
    message = (await live.client.get(f"/api/messages/{notification['message_id']}", headers=h)).json()["message"]
    assert message["message_type"] == "document" and message["media"]["filename"] == "INV-7.pdf"
    logged = await sent_log(live, org.id)
    assert [(e["message_type"], e["filename"]) for e in logged] == [("document", "INV-7.pdf")] * 2
    # One file for both sends: the same content is stored once.
    assert counts(db, org.id)[2] == 1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"type": "document"}, 422, "media_required"),
    ({"media": {"base64": b64(PDF), "filename": "a.pdf"}}, 422, "media_needs_type"),
    ({"type": "document", "media": {"filename": "a.pdf"}}, 422, "media_source"),
    ({"type": "document", "media": {"base64": b64(PDF), "url": "https://example.com/a.pdf"}}, 422, "media_source"),
    ({"type": "document", "media": {"base64": "not base64!", "filename": "a.pdf"}}, 422, "media_invalid_base64"),
    ({"type": "image", "media": {"base64": b64(PDF), "filename": "a.pdf"}}, 422, "media_not_image"),
    ({"type": "document", "media": {"base64": b64(b"hello"), "filename": "a.pdf"}}, 422, "media_content_mismatch"),
    ({"type": "document", "media": {"base64": "", "url": None, "filename": "a.pdf"}}, 422, "media_source"),
    ({"type": "document", "media": {"url": "ftp://example.com/a.pdf"}}, 422, "media_invalid_url"),
    ({"type": "document", "media": {"url": "http://127.0.0.1:5432/a.pdf"}}, 422, "media_url_refused"),
    ({"type": "document", "media": {"url": "http://localhost/a.pdf"}}, 422, "media_url_refused"),
    ({"type": "document", "media": {"url": "http://[::ffff:10.0.0.1]/a.pdf"}}, 422, "media_url_refused"),
])
async def test_a_bad_file_is_refused_clearly_and_nothing_is_kept(live, db, make_org, make_key, live_env, body,
                                                                 status, code):
    from fleet_dashboard.core.settings import get_settings

    live_env.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false")  # the suite allows it for local webhook receivers
    get_settings.cache_clear()
    org, key = await connected_org(live, make_org, make_key)
    r = await live.client.post("/api/messages/send", headers=headers(key, org.id),
                               json={"recipient": PHONE, "message": "x", **body})
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert r.json()["success"] is False and r.json()["error"]
    assert counts(db, org.id) == (0, 0, 0)
    assert await live.sent_count(org.id) == 0


async def test_each_limit_refuses_before_anything_is_queued(live, db, make_org, make_key, live_env):
    from fleet_dashboard.core.settings import get_settings

    live_env.setenv("MEDIA_MAX_DOCUMENT_BYTES", "4096")
    live_env.setenv("MEDIA_MAX_IMAGE_BYTES", "2048")
    get_settings.cache_clear()
    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    big_pdf = PDF + b"y" * 4096
    big_png = png(64, 64) + b"\x00" * 2048
    cases = [
        ("/api/messages/send", {"recipient": PHONE, "type": "document",
                                "media": {"base64": b64(big_pdf), "filename": "big.pdf"}}, "document", 4096),
        ("/api/messages/send", {"recipient": PHONE, "type": "image",
                                "media": {"base64": b64(big_png), "filename": "big.png"}}, "image", 2048),
        ("/api/notifications", {"recipient": PHONE, "template_name": "trial_welcome",
                                "variables": WELCOME,
                                "media": {"base64": b64(big_pdf), "filename": "big.pdf"}}, "document", 4096),
        ("/api/notifications", [{"recipient": PHONE, "template_name": "trial_welcome",
                                 "variables": WELCOME},
                                {"recipient": PHONE, "template_name": "trial_welcome",
                                 "variables": WELCOME,
                                 "media": {"base64": b64(big_png), "filename": "big.png"}}], "image", 2048),
    ]
    for path, body, kind, limit in cases:
        r = await live.client.post(path, headers=h, json=body)
        assert r.status_code == 413, (path, r.text)
        assert r.json()["code"] == "media_too_large" and str(limit) in r.json()["error"] and kind in r.json()["error"]
    # A file just under the limit goes, so the limit is the setting and not something smaller.
    ok = PDF + b"z" * (4096 - len(PDF))
    r = await live.client.post("/api/messages/send", headers=h, json={
        "recipient": PHONE, "type": "document", "media": {"base64": b64(ok), "filename": "ok.pdf"}})
    assert r.status_code == 200, r.text
    assert counts(db, org.id) == (1, 1, 1)


async def test_the_request_body_may_carry_a_whole_document_but_other_routes_keep_their_cap(live, make_org,
                                                                                         make_key):
    from fleet_dashboard.core.settings import get_settings

    org, key = await connected_org(live, make_org, make_key)
    h = headers(key, org.id)
    cap = get_settings().max_body_bytes
    pdf = PDF + b"q" * (cap + 1000)  # bigger than the general cap, well under the document limit
    r = await live.client.post("/api/messages/send", headers=h, json={
        "recipient": PHONE, "type": "document", "media": {"base64": b64(pdf), "filename": "big.pdf"}})
    assert r.status_code == 200, r.text
    r = await live.client.post("/api/sessions/init", headers=h, content=b"{" + b" " * (cap + 10) + b"}")
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


async def test_a_file_of_another_organisation_is_never_reachable(live, db, make_org, make_key):
    org, key = await connected_org(live, make_org, make_key)
    other, other_key = await connected_org(live, make_org, make_key, name="Other Fleet")
    r = await live.client.post("/api/messages/send", headers=headers(key, org.id), json={
        "recipient": PHONE, "type": "document", "media": {"base64": b64(PDF), "filename": "secret.pdf"}})
    mid = r.json()["message_id"]
    r = await live.client.get(f"/api/messages/{mid}", headers=headers(other_key, other.id))
    assert r.status_code == 404
    # The same bytes sent by the other organisation are its own copy.
    r = await live.client.post("/api/messages/send", headers=headers(other_key, other.id), json={
        "recipient": PHONE, "type": "document", "media": {"base64": b64(PDF), "filename": "mine.pdf"}})
    assert r.status_code == 200
    assert counts(db, org.id)[2] == 1 and counts(db, other.id)[2] == 1


def test_files_are_checked_by_content(monkeypatch):
    from fleet_dashboard.core.errors import ValidationError
    from fleet_dashboard.messaging import media

    f = media.check(kind=None, data=png(), filename="../../etc/truck.png", mime_type=None)
    assert (f.kind, f.mime_type, f.filename) == ("image", "image/png", "truck.png")
    f = media.check(kind="document", data=png(), filename="truck.png", mime_type="image/png")
    assert f.kind == "document"  # a photo may go as a document, uncompressed
    with pytest.raises(ValidationError) as err:
        media.check(kind=None, data=b"MZ\x90\x00", filename="invoice.pdf", mime_type=None)
    assert err.value.code == "media_content_mismatch"
    assert media.clean_filename("a\x00b<c>.pdf") == "a_b_c_.pdf"
    assert media.clean_filename("", "application/pdf") == "file.pdf"
    assert io.BytesIO(png()).read(8) == b"\x89PNG\r\n\x1a\n"


async def test_a_file_by_url_is_fetched_once_with_its_name_and_the_limit_holds_while_streaming(live, db, make_org,
                                                                                              make_key, live_env):
    import http.server
    import threading

    from fleet_dashboard.core.settings import get_settings

    live_env.setenv("MEDIA_MAX_DOCUMENT_BYTES", str(len(PDF) + 100))
    get_settings.cache_clear()
    hits: list[str] = []

    class Files(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.end_headers()  # no Content-Length: the size is only known while reading
            self.wfile.write(PDF if self.path.endswith("small.pdf") else PDF * 3)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        org, key = await connected_org(live, make_org, make_key)
        h = headers(key, org.id)
        base = f"http://127.0.0.1:{server.server_port}/invoices"
        r = await live.client.post("/api/messages/send", headers=h, json={
            "recipient": PHONE, "type": "document", "media": {"url": f"{base}/INV%2011.small.pdf"}})
        assert r.status_code == 200, r.text
        got = (await live.client.get(f"/api/messages/{r.json()['message_id']}", headers=h)).json()["message"]
        assert got["media"]["filename"] == "INV 11.small.pdf" and got["media"]["size"] == len(PDF)
        r = await live.client.post("/api/messages/send", headers=h, json={
            "recipient": PHONE, "type": "document", "media": {"url": f"{base}/big.pdf"}})
        assert r.status_code == 413 and r.json()["code"] == "media_too_large", r.text
        assert len(hits) == 2 and counts(db, org.id) == (1, 1, 1)
    finally:
        server.shutdown()
