"""An owner uploads an invoice PDF on /send, and finds it in history with its file name and status."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import connect_whatsapp, login, open_page
from tests.support.server import AppServer

RECIPIENT = "+201001112224"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 40_000


def test_an_owner_sends_an_invoice_pdf_and_sees_it_in_history(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    connect_whatsapp(page, app_server, owner)
    open_page(page, "nav-send")

    # A file that is not what its name says is refused in Arabic, and nothing is kept for sending.
    page.get_by_test_id("file-picker").locator("input[type=file]").set_input_files(
        files=[{"name": "fake.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 not a pdf"}])
    expect(page.get_by_test_id("file-error")).to_contain_text("لا يطابق نوعه")
    expect(page.get_by_test_id("file-name")).to_have_count(0)

    page.get_by_test_id("file-picker").locator("input[type=file]").set_input_files(
        files=[{"name": "فاتورة-نوفمبر.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(page.get_by_test_id("file-name")).to_have_text("فاتورة-نوفمبر.pdf")
    expect(page.get_by_test_id("file-error")).to_have_count(0)
    page.get_by_label("رقم المستلم").fill(RECIPIENT)
    page.get_by_label("نص الرسالة").fill("مرفق فاتورة شهر نوفمبر")
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أُرسلت الرسالة.")

    sent = app_server.simulator.get(f"/api/simulator/{owner.org_id}/sent?kind=message").json()["messages"]
    assert [(m["recipient_phone"], m["message_type"], m["filename"], m["size"]) for m in sent] == [
        (RECIPIENT, "document", "فاتورة-نوفمبر.pdf", len(PDF))]
    assert sent[0]["text"] == "مرفق فاتورة شهر نوفمبر"

    open_page(page, "nav-history")
    row = page.get_by_test_id("message-row").filter(has_text=RECIPIENT)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("row-file")).to_have_text("فاتورة-نوفمبر.pdf")
    expect(row.locator("[data-status]")).to_have_text("تم التسليم")  # the simulator's delivery receipt
    row.get_by_role("link", name="عرض").click()
    expect(page.get_by_test_id("detail-file")).to_have_text("فاتورة-نوفمبر.pdf")
    expect(page.get_by_test_id("detail-body")).to_contain_text("مرفق فاتورة")
