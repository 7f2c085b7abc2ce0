"""The incident, as a test: 200 notifications draining for five organisations, PostgreSQL stopped with
`pg_ctl -m immediate` for 10 s mid-drain, then started again."""

from __future__ import annotations

import time

from playwright.sync_api import Browser

from tests.reliability.conftest import app_on
from tests.reliability.drill import RECOVERY_SECONDS, utc_now, wait_until

OUTAGE_SECONDS = 10


def test_postgres_stopped_immediately_mid_drain(postgres, browser: Browser, tmp_path) -> None:
    with app_on(postgres, tmp_path) as drill:
        drill.connected_orgs(5)
        tabs = drill.open_tabs(browser)
        try:
            total = drill.enqueue(40)
            wait_until(lambda: drill.sent_count() >= 40, 60, "the drain under way")
            print(f"\n   {drill.sent_count()} of {total} sent; stopping PostgreSQL (immediate) for {OUTAGE_SECONDS} s")
            postgres.stop("immediate")
            time.sleep(OUTAGE_SECONDS)
            postgres.start()
            back, back_at = time.monotonic(), utc_now()
            drill.check_live_paths(tabs, back)
            wait_until(lambda: drill.first_send_after(back_at) is not None, RECOVERY_SECONDS, "a send after the return")
            first = drill.first_send_after(back_at)
            print(f"   first send {first:.1f} s after PostgreSQL was back")
            assert first <= RECOVERY_SECONDS
            drill.wait_drained(total, 120)
            drill.assert_each_sent_once(total)
            assert tabs.same_documents(), "a tab reloaded: its updates should have come live"
        finally:
            tabs.close()
