"""The embedded server starts from an empty directory, migrates, and keeps its data across a restart."""

import shutil
import tempfile

import psycopg

from fleet_dashboard.core import dbadmin
from fleet_dashboard.core.db import EmbeddedPostgres


def test_embedded_server_survives_restart_with_data():
    data_dir = tempfile.mkdtemp(prefix="fdemb", dir="/tmp")
    server = EmbeddedPostgres(f"{data_dir}/pg")
    try:
        url = server.start()
        dbadmin.migrate(url)
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO organizations (id, name, slug) VALUES (gen_random_uuid(), 'Kept', 'kept')")
        server.stop()

        url = server.start()
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            slugs = [r[0] for r in conn.execute("SELECT slug FROM organizations")]
            templates = conn.execute("SELECT count(*) FROM whatsapp_templates WHERE is_system").fetchone()[0]
        assert version.startswith("18")
        assert slugs == ["kept"]
        assert templates == 4
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_run_gives_its_embedded_server_room_for_a_large_fleet():
    """PostgreSQL's default 100 connections ran out under the 21 engine processes of 1,000 organisations."""
    from fleet_dashboard.core.settings import get_settings

    wanted = get_settings().embedded_pg_max_connections
    data_dir = tempfile.mkdtemp(prefix="fdemb", dir="/tmp")
    server = EmbeddedPostgres(f"{data_dir}/pg")
    try:
        for _ in range(2):  # a fresh data directory, then a start on the one kept
            url = server.start(max_connections=wanted)
            with psycopg.connect(url) as conn:
                allowed = int(conn.execute("SHOW max_connections").fetchone()[0])
            server.stop()
            assert allowed == wanted >= 1000
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
