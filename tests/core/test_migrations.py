"""Alembic alone builds and removes the schema, and seeds the system templates."""

import uuid

import psycopg
import pytest

from fleet_dashboard.core import dbadmin
from fleet_dashboard.models import ALL_TABLES
from tests.support import databases

SYSTEM_TEMPLATES = {"trial_welcome", "subscription_expiring", "subscription_activated", "payment_reminder"}


@pytest.fixture
def empty_database(pg_server):
    name = f"fleet_mig_{uuid.uuid4().hex[:10]}"
    url = databases.create(pg_server, name)
    yield url
    databases.drop(pg_server, name)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_upgrade_creates_every_table_and_downgrade_removes_them(empty_database):
    dbadmin.migrate(empty_database)
    expected = {t.name for t in ALL_TABLES}
    assert expected <= _tables(empty_database)

    with psycopg.connect(empty_database) as conn:
        rows = conn.execute(
            "SELECT name, variables, message_template FROM whatsapp_templates WHERE is_system AND org_id IS NULL"
        ).fetchall()
    assert {r[0] for r in rows} == SYSTEM_TEMPLATES
    for name, variables, body in rows:
        assert variables, name
        for var in variables:
            assert "{{" + var + "}}" in body, (name, var)

    dbadmin.downgrade(empty_database, "base")
    assert _tables(empty_database) & expected == set()


def test_indexes_for_history_queue_and_audit_exist(empty_database):
    dbadmin.migrate(empty_database)
    with psycopg.connect(empty_database) as conn:
        defs = [r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")]
    assert any("whatsapp_messages" in d and "(org_id, created_at" in d for d in defs)
    assert any("notification_queue" in d and "(status, scheduled_for, priority)" in d for d in defs)
    assert any("whatsapp_audit_logs" in d and "(org_id, created_at" in d for d in defs)


def test_autogenerate_leaves_the_whatsmeow_store_alone(empty_database):
    """whatsmeow keeps its tables in our database; autogenerate must neither drop them nor see drift."""
    from alembic import command

    dbadmin.migrate(empty_database)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE whatsmeow_device (jid text PRIMARY KEY, registration_id bigint NOT NULL)")
        conn.execute("CREATE TABLE whatsmeow_version (version integer, compat integer)")
    # `alembic check` runs autogenerate and fails on any difference between the models and the database.
    command.check(dbadmin.alembic_config(empty_database))
