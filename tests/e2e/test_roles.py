"""Roles and tenancy: a member cannot connect or edit, and an owner never sees another organisation.

Both are checked twice: in what the pages offer, and against crafted websocket events, because every
handler must check role and organisation on the server, whatever the browser sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.support.browser import at, craft_events, login, open_page
from tests.support.server import AppServer

REFUSED = "ليست لديك صلاحية لهذا الإجراء."
NOT_FOUND = "القالب غير موجود."
TEMPLATE_BODY = "تذكير: موعدك يوم {{day}}."
# Reflex names a substate by its module path and class ("." -> "___", then "____" and snake_case);
# an event sent from AuthState can name it as a child, as a hand-written event could.
CONNECT = "fleet_dashboard___web___state___connect____connect_state.connect"


def _toast(page: Page, text: str):
    return page.locator("[data-sonner-toast]").filter(has_text=text)


def test_member_cannot_connect_or_edit_even_with_crafted_events(page: Page, app_server: AppServer) -> None:
    org = app_server.make_org()
    template = app_server.make_template(org.id, "visit_reminder", TEMPLATE_BODY)
    member = app_server.make_user("member", org)
    # The frame's time-zone event, sent by every page, rewritten on the wire into the Connect button's.
    rewrites: dict[str, tuple[str, dict]] = {"set_timezone": (CONNECT, {})}
    crafted = craft_events(page, rewrites, once=True)
    login(page, member)
    expect(_toast(page, REFUSED)).to_be_visible()
    assert crafted == [CONNECT]

    open_page(page, "nav-connect")
    expect(page.get_by_test_id("session-status")).to_have_text("غير متصل")
    expect(page.get_by_test_id("not-manager")).to_be_visible()
    expect(page.get_by_role("button", name="ربط الواتساب")).to_have_count(0)
    expect(page.get_by_role("button", name="قطع الاتصال")).to_have_count(0)

    open_page(page, "nav-templates")
    row = page.get_by_test_id("template-row").filter(has_text="visit_reminder")
    expect(row).to_be_visible()
    expect(page.get_by_role("button", name="قالب جديد")).to_have_count(0)
    for label in ("تعديل", "حذف", "تعطيل", "نسخ"):
        expect(page.get_by_role("button", name=label, exact=True)).to_have_count(0)

    # "المعاينة" is the one button a member has; its event is rewritten into delete, then into save.
    rewrites["open_template"] = ("delete_template", {"template_id": str(template.id)})
    row.get_by_role("button", name="المعاينة").click()
    rewrites["open_template"] = ("save", {})
    row.get_by_role("button", name="المعاينة").click()

    # Unrewritten, the same button opens the template read-only (and, as events run in order, the
    # crafted ones before it have been answered).
    row.get_by_role("button", name="المعاينة").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("نص القالب")).to_have_value(TEMPLATE_BODY)
    expect(dialog.get_by_label("نص القالب")).to_have_attribute("readonly", "")
    expect(dialog.get_by_role("button", name="حفظ")).to_have_count(0)
    assert crafted == [CONNECT, "delete_template", "save"]

    assert app_server.template_names(org.id) == {"visit_reminder"}
    status = app_server.whatsapp_status(org.id)
    assert (status["status"], status["enabled"]) == ("disconnected", False)
    denied = app_server.audit_data(org.id, "access_denied")
    # Each refusal names the permission matrix's column (docs/SECURITY.md).
    assert [(d["action"], d["role"]) for d in denied] == [
        ("connect", "member"), ("templates", "member"), ("templates", "member")]
    assert "connect_requested" not in app_server.audit_types(org.id)


def test_owner_never_sees_another_organisation(page: Page, app_server: AppServer) -> None:
    mine, theirs = app_server.make_org("مؤسسة ألف"), app_server.make_org("مؤسسة باء")
    owner = app_server.make_user("owner", mine, name="مالكة ألف")
    other = app_server.make_user("owner", theirs, name="مالك باء")
    my_template = app_server.make_template(mine.id, "my_notice", "إشعار {{name}}")
    their_template = app_server.make_template(theirs.id, "their_secret", "سر {{name}}")
    app_server.make_message(mine.id, "+201005550001", "رسالة مؤسستي")
    their_message = app_server.make_message(theirs.id, "+201005550002", "رسالة المؤسسة الأخرى")
    later = datetime.now(UTC) + timedelta(days=3)
    app_server.enqueue(mine.id, "+201005550003", "my_notice", {"name": "ألف"}, later)
    app_server.enqueue(theirs.id, "+201005550004", "their_secret", {"name": "باء"}, later)
    app_server.record_audit(theirs.id, other.user_id, "template_created", name="their_secret")
    their_audit = app_server.audit_types(theirs.id)  # the set-up's own rows (scheduling is audited too)
    rewrites: dict[str, tuple[str, dict]] = {}
    crafted = craft_events(page, rewrites, once=True)
    login(page, owner)

    open_page(page, "nav-history")
    expect(page.get_by_test_id("message-row")).to_have_count(1)
    expect(page.get_by_test_id("message-row")).to_contain_text("+201005550001")
    expect(page.get_by_text("رسالة المؤسسة الأخرى")).to_have_count(0)

    open_page(page, "nav-queue")
    expect(page.get_by_test_id("queue-row")).to_have_count(1)
    expect(page.get_by_test_id("queue-row")).to_contain_text("+201005550003")

    open_page(page, "nav-audit")
    rows = page.get_by_test_id("audit-row")
    # Audit rows name the person who acted; nobody of the other organisation appears.
    expect(rows.filter(has_text="مالكة ألف").first).to_be_visible()
    expect(page.get_by_text("مالك باء")).to_have_count(0)
    expect(page.get_by_text(other.email)).to_have_count(0)
    expect(page.get_by_text("their_secret")).to_have_count(0)

    open_page(page, "nav-templates")
    expect(page.get_by_test_id("template-row").filter(has_text="my_notice")).to_be_visible()
    expect(page.get_by_test_id("template-row").filter(has_text="their_secret")).to_have_count(0)

    # Crafted events: my own row's buttons, carrying the other organisation's template id.
    mine_row = page.get_by_test_id("template-row").filter(has_text="my_notice")
    rewrites["open_template"] = ("open_template", {"template_id": str(their_template.id)})
    mine_row.get_by_role("button", name="تعديل").click()
    expect(_toast(page, NOT_FOUND)).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    rewrites["ask_delete"] = ("delete_template", {"template_id": str(their_template.id)})
    mine_row.get_by_role("button", name="حذف").click()
    rewrites["toggle_active"] = ("toggle_active", {"template_id": str(their_template.id)})
    mine_row.get_by_role("button", name="تعطيل").click()
    # Unrewritten, the edit button opens my own template: the crafted events before it were answered.
    mine_row.get_by_role("button", name="تعديل").click()
    expect(page.get_by_role("dialog").get_by_label("نص القالب")).to_have_value("إشعار {{name}}")
    page.get_by_role("dialog").get_by_role("button", name="إغلاق").click()
    expect(mine_row).to_contain_text("مفعّل")
    assert crafted == ["open_template", "delete_template", "toggle_active"]

    # Crafted URLs.
    page.goto(f"/history/{their_message}")
    expect(page.get_by_test_id("not-found")).to_have_text("الرسالة غير موجودة.")
    expect(page.get_by_text("رسالة المؤسسة الأخرى")).to_have_count(0)
    page.goto("/admin")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("org-row")).to_have_count(0)
    page.goto(f"/admin/org/{theirs.slug}")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    page.goto("/connect")
    expect(page).to_have_url(at("/connect"))
    expect(page.get_by_test_id("sidebar")).to_contain_text("مؤسسة ألف")
    expect(page.get_by_test_id("sidebar")).not_to_contain_text("مؤسسة باء")

    assert app_server.template_names(theirs.id) == {"their_secret"}
    with app_server.session() as s:
        from fleet_dashboard.messaging.models import WhatsAppTemplate

        assert s.get(WhatsAppTemplate, their_template.id).is_active
        assert s.get(WhatsAppTemplate, my_template.id).is_active
    assert [d["action"] for d in app_server.audit_data(mine.id, "access_denied")] == [
        "admin_overview", "admin_enter_org"]
    assert "template_created" in their_audit
    assert app_server.audit_types(theirs.id) == their_audit  # the intruder left no trace in their log
