"""Keyset pages stay O(page): for every filter the UI and API offer, the cursor is an index bound.

Each list is read deep into a 20,000-row organisation; EXPLAIN ANALYZE of the very statement the
service sent must show the row comparison in the Index Cond, nothing removed by a filter, and no more
rows read than the page holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from fleet_dashboard.accounts import audit
from fleet_dashboard.accounts.permissions import SYSTEM
from fleet_dashboard.core.db import get_engine
from fleet_dashboard.messaging import messages
from fleet_dashboard.notifications import queue

ROWS = 20_000
LIMIT = 25


@pytest.fixture
def big_org(db, make_org):
    """One organisation with 20,000 messages, queue rows and audit rows (and a smaller neighbour)."""
    org, other = make_org("Big"), make_org("Small")
    for org_id, n in ((org.id, ROWS), (other.id, 2_000)):
        params = {"org": org_id, "n": n}
        db.execute(text("""
            INSERT INTO whatsapp_messages (id, org_id, recipient_phone, message_type, message_body, template_name,
                                           template_params, status, created_at)
            SELECT gen_random_uuid(), :org, '+2010' || lpad(g::text, 8, '0'), 'template', 'نص ' || g,
                   CASE WHEN g % 3 = 0 THEN 'invoice' ELSE 'welcome' END, '{}',
                   CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 10 < 4 THEN 'read' ELSE 'delivered' END,
                   -- pairs of rows share a timestamp, so the id breaks ties
                   now() - make_interval(secs => (g / 2) * 30)
            FROM generate_series(1, :n) g"""), params)
        db.execute(text("""
            INSERT INTO notification_queue (id, org_id, notification_type, recipient_phone, message_data, priority,
                                            status, scheduled_for, attempts, max_attempts, created_at)
            SELECT gen_random_uuid(), :org, 'whatsapp', '+201000000000', '{}', 5,
                   CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END, now(), 1, 3,
                   now() - make_interval(secs => (g / 2) * 30)
            FROM generate_series(1, :n) g"""), params)
        db.execute(text("""
            INSERT INTO whatsapp_audit_logs (id, org_id, event_type, event_data, created_at)
            SELECT gen_random_uuid(), :org, CASE WHEN g % 10 = 0 THEN 'logout' ELSE 'login' END, '{}',
                   now() - make_interval(secs => (g / 2) * 30)
            FROM generate_series(1, :n) g"""), params)
    db.commit()
    with get_engine().connect() as conn:
        conn.execute(text("ANALYZE whatsapp_messages, notification_queue, whatsapp_audit_logs"))
        conn.commit()
    return org


@pytest.fixture
def captured() -> Iterator[list[tuple[str, Any]]]:
    """Every statement this process sends, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", hook)
    yield statements
    event.remove(engine, "before_cursor_execute", hook)


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _deep_page(db, captured, list_page: Callable[..., tuple[list, str | None]], pages: int = 40) -> list[dict]:
    """Walk `pages` pages, then EXPLAIN ANALYZE the statement that read the last one."""
    cursor, seen = None, set()
    for _ in range(pages):
        captured.clear()
        rows, cursor = list_page(cursor)
        assert cursor and len(rows) == LIMIT
        ids = {r.id for r in rows}
        assert not ids & seen, "a row came twice across pages"
        seen |= ids
    statement, params = next((s, p) for s, p in captured if "LIMIT" in s)
    plan = db.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).scalar()
    return list(_nodes(plan[0]["Plan"]))


def _assert_cursor_is_an_index_bound(nodes: list[dict], index: str) -> None:
    scans = [n for n in nodes if n.get("Index Name")]
    assert [n["Index Name"] for n in scans] == [index], nodes
    scan = scans[0]
    assert "ROW(created_at, id) <" in scan.get("Index Cond", ""), scan
    assert "ROW(created_at, id)" not in scan.get("Filter", ""), scan
    assert scan.get("Rows Removed by Filter", 0) == 0, scan
    assert scan["Actual Rows"] <= LIMIT + 1, f"read {scan['Actual Rows']} rows for a page of {LIMIT}"
    assert not any(n["Node Type"] == "Sort" for n in nodes), "sorted instead of reading in index order"


MESSAGE_CASES = [
    ({}, "ix_whatsapp_messages_org_created"),
    ({"status": "failed"}, "ix_whatsapp_messages_org_status_created"),
    ({"status": "read"}, "ix_whatsapp_messages_org_status_created"),
    ({"template_name": "invoice"}, "ix_whatsapp_messages_org_template_created"),
]


def test_every_list_and_filter_bounds_the_cursor_in_its_index(db, big_org, captured):
    """History and API (status, template), queue (status) and audit (event type), 40 pages deep."""
    for filters, index in MESSAGE_CASES:
        def messages_page(cursor, filters=filters):
            return messages.list_for_org(session=db, org_id=big_org.id, cursor=cursor, limit=LIMIT, **filters)

        _assert_cursor_is_an_index_bound(_deep_page(db, captured, messages_page), index)
    for status, index in ((None, "ix_notification_queue_org_created"),
                          ("failed", "ix_notification_queue_org_status_created")):
        def queue_page(cursor, status=status):
            return queue.list_for_org(session=db, org_id=big_org.id, status=status, cursor=cursor, limit=LIMIT)

        _assert_cursor_is_an_index_bound(_deep_page(db, captured, queue_page), index)
    for event_type, index in ((None, "ix_whatsapp_audit_logs_org_created"),
                              ("logout", "ix_whatsapp_audit_logs_org_type_created")):
        def audit_page(cursor, event_type=event_type):
            return audit.list_for_org(session=db, org_id=big_org.id, event_type=event_type, cursor=cursor,
                                      limit=LIMIT, actor=SYSTEM)

        _assert_cursor_is_an_index_bound(_deep_page(db, captured, audit_page), index)


def test_pages_walk_every_row_once_search_finds_a_number_and_event_types_are_listed(db, big_org):
    cursor, walked = None, []
    while True:
        rows, cursor = messages.list_for_org(session=db, org_id=big_org.id, status="failed", cursor=cursor,
                                              limit=200)
        walked += [(r.created_at, r.id) for r in rows]
        if cursor is None:
            break
    # Pairs of rows share a timestamp: the id breaks the tie, so nothing is skipped or repeated.
    assert len(walked) == ROWS // 10 and len(set(walked)) == len(walked)
    assert walked == sorted(walked, reverse=True)

    # Search (trigram indexes; whether the planner takes them at this size is its call: bench/scale.py
    # measures it at a million rows) finds a number by any part and stays inside the organisation.
    found, _ = messages.list_for_org(session=db, org_id=big_org.id, search="00012345", limit=LIMIT)
    assert [m.recipient_phone for m in found] == ["+201000012345"]
    assert messages.list_for_org(session=db, org_id=uuid.uuid4(), search="00012345")[0] == []

    assert audit.event_types_for_org(session=db, org_id=big_org.id, actor=SYSTEM) == ["login", "logout"]
