"""Send a template with variables, find it in history, and watch a read receipt turn its chip live."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import connect_whatsapp, login, open_page, pick_option
from tests.support.server import AppServer

RECIPIENT = "+201001112223"


def test_template_send_then_history_then_live_read_receipt(page: Page, app_server: AppServer) -> None:
    owner = app_server.owner()
    login(page, owner)
    connect_whatsapp(page, app_server, owner)
    open_page(page, "nav-send")
    expect(page.get_by_role("heading", name="إرسال رسالة", level=1)).to_be_visible()

    page.get_by_role("radio", name="قالب").click()
    # Templates and their variables by their Arabic names: payment_reminder and {{due_date}} are the API's.
    pick_option(page, "اختر قالباً", "تذكير بالدفع")
    expect(page.get_by_label("اسم العميل")).to_be_visible()
    expect(page.get_by_text("{{customer_name}}")).to_have_count(0)
    # The preview names what is still missing in Arabic, never a raw {{due_date}}.
    expect(page.get_by_test_id("preview")).to_contain_text("[تاريخ الاستحقاق]")
    page.get_by_label("اسم العميل").fill("سارة")
    page.get_by_label("المبلغ").fill("150 جنيه")
    page.get_by_label("رقم المستلم").fill("12345")

    # Both mistakes are shown inline, in Arabic, and nothing is sent.
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("phone-error")).to_contain_text("رقم الهاتف غير صحيح")
    expect(page.get_by_test_id("missing-due_date")).to_have_text("هذا الحقل مطلوب")
    expect(page.get_by_test_id("missing-customer_name")).to_have_count(0)
    expect(page.get_by_test_id("send-result")).to_have_count(0)

    page.get_by_label("رقم المستلم").fill(RECIPIENT)
    page.get_by_label("تاريخ الاستحقاق").fill("2026-12-01")
    expect(page.get_by_test_id("preview")).to_contain_text("عزيزي سارة")
    expect(page.get_by_test_id("preview")).to_contain_text("150 جنيه")
    expect(page.get_by_test_id("preview")).to_contain_text("2026-12-01")
    page.get_by_role("button", name="إرسال الآن").click()
    expect(page.get_by_test_id("send-result")).to_have_text("أُرسلت الرسالة.")
    expect(page.get_by_test_id("phone-error")).to_have_count(0)

    open_page(page, "nav-history")
    row = page.get_by_test_id("message-row").filter(has_text=RECIPIENT)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("تذكير بالدفع")
    expect(row).not_to_contain_text("payment_reminder")
    chip = row.locator("[data-status]")
    expect(chip).to_have_text("تم التسليم")  # the simulator's delivery receipt

    sent = app_server.simulator.get(f"/api/simulator/{owner.org_id}/sent?kind=message").json()["messages"]
    assert [m["recipient_phone"] for m in sent] == [RECIPIENT]
    page.evaluate("window.__sameDocument = true")
    app_server.simulate(owner.org_id, "receipt", whatsapp_message_id=sent[0]["whatsapp_message_id"], type="read")
    expect(chip).to_have_text("تمت القراءة")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    row.get_by_role("link", name="عرض").click()
    expect(page.get_by_role("heading", name="تفاصيل الرسالة", level=1)).to_be_visible()
    expect(page.get_by_test_id("detail-body")).to_contain_text("عزيزي سارة")
    expect(page.get_by_test_id("detail-status")).to_have_text("تمت القراءة")


def test_the_export_button_downloads_the_filtered_rows_as_a_streamed_csv(page: Page, app_server: AppServer) -> None:
    import csv
    import io

    from fleet_dashboard.accounts.permissions import SYSTEM
    from fleet_dashboard.messaging import messages

    owner, other = app_server.owner(), app_server.owner()
    with app_server.session() as s:
        for i in range(3):
            messages.create_message(session=s, org_id=owner.org_id, recipient="+201001112224", text=f"ours {i}",
                                     actor=SYSTEM)
        messages.create_message(session=s, org_id=owner.org_id, recipient="+201001112224",
                                 text="=HYPERLINK(\"http://evil.example\")", actor=SYSTEM)
        messages.create_message(session=s, org_id=other.org_id, recipient="+201001112225", text="theirs",
                                 actor=SYSTEM)
    login(page, owner)
    open_page(page, "nav-history")
    expect(page.get_by_test_id("message-row")).to_have_count(4)
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert download.url.startswith(app_server.base_url + "/export/messages.csv")
    with open(download.path(), encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    bodies = {r["message_body"] for r in rows}
    assert bodies == {"ours 0", "ours 1", "ours 2", "'=HYPERLINK(\"http://evil.example\")"}

    # The search filter travels with the button: only what the page shows is exported.
    page.locator("#filter-search").fill("ours 1")
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("message-row")).to_have_count(1)
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    with open(info.value.path(), encoding="utf-8") as f:
        assert [r["message_body"] for r in csv.DictReader(io.StringIO(f.read()))] == ["ours 1"]
