"""An owner answers a customer from the conversation: the reply (text, then a photo) goes through the send
service to the simulated WhatsApp and shows in the thread live, under today's separator, with short times."""

from __future__ import annotations

import re
import struct
import zlib

from playwright.sync_api import Page, expect

from tests.support.browser import at, connect_whatsapp, login
from tests.support.server import AppServer

CUSTOMER = "+201001234569"


def _png(width: int = 8, height: int = 8) -> bytes:
    """A small real PNG (a green square), so the browser can draw the preview."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x20\xa0\x40" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _sent(app_server: AppServer, org_id) -> list[dict]:
    return app_server.simulator.get(f"/api/simulator/{org_id}/sent?kind=message").json()["messages"]


def test_a_reply_from_the_conversation_reaches_whatsapp_and_the_thread_live(page: Page,
                                                                            app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    connect_whatsapp(page, app_server, owner)
    app_server.simulate(owner.org_id, "inbound", **{"from": CUSTOMER, "text": "هل وصلت الفاتورة؟"})
    page.goto("/conversations/%2B201001234569")
    expect(page).to_have_url(at("/conversations/%2B201001234569"))
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(1)
    # A day separator above the day's first message, and the time alone on the message (no date, no zone).
    expect(page.get_by_test_id("day-separator")).to_have_text(["اليوم"])
    expect(items.first.get_by_test_id("conversation-time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    page.evaluate("window.__sameDocument = true")

    # An empty reply is refused in Arabic and nothing is sent.
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("reply-error")).to_contain_text("نص الرسالة مطلوب")
    assert _sent(app_server, owner.org_id) == []

    page.get_by_label("ردك على العميل").fill("نعم، أرسلناها اليوم صباحاً")
    page.get_by_test_id("reply-send").click()
    expect(items).to_have_count(2)
    reply = items.nth(1)
    expect(reply).to_have_attribute("data-direction", "outbound")
    expect(reply).to_contain_text("نعم، أرسلناها اليوم صباحاً")
    expect(reply.locator("[data-status]")).to_have_text("تم التسليم")  # the simulator's receipt, live
    expect(page.get_by_test_id("reply-text")).to_have_value("")  # the box is empty for the next reply
    sent = _sent(app_server, owner.org_id)
    assert [(m["recipient_phone"], m["text"]) for m in sent] == [(CUSTOMER, "نعم، أرسلناها اليوم صباحاً")]

    # A photo with a caption: the simulator receives the image, and the thread previews it.
    page.get_by_test_id("reply-file-picker").locator("input[type=file]").set_input_files(
        files=[{"name": "إيصال.png", "mimeType": "image/png", "buffer": _png()}])
    expect(page.get_by_test_id("reply-file-name")).to_have_text("إيصال.png")
    page.get_by_label("ردك على العميل").fill("صورة الإيصال")
    page.get_by_test_id("reply-send").click()
    expect(items).to_have_count(3)
    photo = items.nth(2)
    expect(photo.get_by_test_id("file-name")).to_have_text("إيصال.png")
    preview = photo.get_by_test_id("file-preview")
    expect(preview).to_be_visible()
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 8", arg=preview.element_handle())
    expect(page.get_by_test_id("reply-file-name")).to_have_count(0)
    # The thread shows the reply once it is queued; the worker hands it to WhatsApp after: wait for its receipt.
    expect(photo.locator("[data-status]")).to_have_text("تم التسليم")
    sent = _sent(app_server, owner.org_id)
    assert [(m["message_type"], m["filename"], m["text"]) for m in sent[1:]] == [("image", "إيصال.png", "صورة الإيصال")]

    # The customer answers again: it arrives without a reload, after our replies.
    app_server.simulate(owner.org_id, "inbound", **{"from": CUSTOMER, "text": "وصلت، شكراً"})
    expect(items).to_have_count(4)
    expect(items.nth(3)).to_have_attribute("data-direction", "inbound")
    expect(page.get_by_test_id("day-separator")).to_have_count(1)
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    # The photo's page previews it too, and its file is served only with the dashboard's session.
    photo.get_by_role("link", name="عرض").click()
    expect(page.get_by_test_id("detail-file")).to_have_text("إيصال.png")
    expect(page.get_by_test_id("file-preview")).to_be_visible()
    src = page.get_by_test_id("file-preview").get_attribute("src")
    answer = page.request.get(src)
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.body() == _png()
    anonymous = page.context.browser.new_context(base_url=app_server.base_url)
    try:
        assert anonymous.request.get(src).status == 401
    finally:
        anonymous.close()
