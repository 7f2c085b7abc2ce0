"""Retention of files: a file goes once it is old and no message or queue row refers to it."""

from __future__ import annotations

from sqlalchemy import text

from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.messaging import media, messages
from fleet_dashboard.stats import retention

PDF = b"%PDF-1.4\n%%EOF\n"
KEEP_ALL_ELSE = {"messages": 0, "audit": 0, "queue": 0, "webhook_deliveries": 0, "simulator_log": 0}


def test_old_files_nothing_refers_to_are_purged_and_the_rest_stay(db, make_org):
    org = make_org()
    files = {name: media.store(session=db, org_id=org.id, file=media.check(
        kind="document", data=PDF + name.encode(), filename=f"{name}.pdf", mime_type="application/pdf"))
        for name in ("old-orphan", "old-in-use", "old-queued", "new-orphan")}
    messages.create_message(session=db, org_id=org.id, recipient="+201001234567", text="invoice",
                             attachment=files["old-in-use"], actor=SYSTEM)
    db.execute(text("""
        INSERT INTO notification_queue (id, org_id, notification_type, recipient_phone, message_data, priority,
                                        status, scheduled_for, attempts, max_attempts, created_at, media_id)
        VALUES (gen_random_uuid(), :o, 'whatsapp', '+201001234567', '{}'::jsonb, 5, 'pending', now(), 0, 3,
                now(), :m)"""), {"o": org.id, "m": files["old-queued"].media_id})
    db.execute(text("UPDATE whatsapp_media SET created_at = now() - interval '40 days' WHERE id = ANY(:ids)"),
               {"ids": [files[n].media_id for n in ("old-orphan", "old-in-use", "old-queued")]})
    db.commit()

    result = retention.purge(days={**KEEP_ALL_ELSE, "media": 30})
    assert result is not None and result.deleted.get("media") == 1
    left = {r[0] for r in db.execute(text("SELECT id FROM whatsapp_media WHERE org_id = :o"), {"o": org.id})}
    assert left == {files[n].media_id for n in ("old-in-use", "old-queued", "new-orphan")}
