"""Each vocabulary is defined once: every place that must handle a member derives it or fails a check here.

The cost of a new message status is measured, not claimed: a fresh interpreter loads messaging/models.py with one
more member (nothing else edited) and runs every check of vocabulary_checks.py. Only its Arabic name is
missing; with that one line added as well, every place handles it. (Its CHECK constraint needs a migration:
tests/core/test_migrations.py's `alembic check` fails until there is one.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.messaging import vocabulary_checks

ROOT = Path(__file__).resolve().parents[2]

# One more member, as a developer would add it: settled without going out (a failure-like outcome).
NEW_MEMBER = '    expired = "expired", 1, True\n'
ANCHOR = '    failed = "failed", 1, True\n'

_SCRIPT = """
import json, sys, types
from pathlib import Path

path = Path(sys.argv[1])
source = path.read_text()
anchor, member, arabic = sys.argv[2], sys.argv[3], sys.argv[4]
assert source.count(anchor) == 1, "the anchor line moved: update the test"
models = types.ModuleType("fleet_dashboard.messaging.models")
models.__file__ = str(path)
sys.modules["fleet_dashboard.messaging.models"] = models
exec(compile(source.replace(anchor, anchor + member), str(path), "exec"), models.__dict__)
from fleet_dashboard import strings
if arabic:
    strings.MESSAGE_STATUS["expired"] = arabic
from fleet_dashboard.web.components.status import MESSAGE_COLORS
from fleet_dashboard.integrations import webhooks
from fleet_dashboard.messaging import messages
from fleet_dashboard.notifications import sending
from fleet_dashboard.stats import overview
from tests.messaging import vocabulary_checks
assert "expired" in {s.value for s in models.MessageStatus}
print(json.dumps({
    "failures": vocabulary_checks.run(),
    "derived": {
        "order": messages.ORDER.get("expired"),
        "receipt_sql": "'expired'" in str(messages._RECEIPT_SQL),
        "chip": MESSAGE_COLORS.get("expired"),
        "webhooks": "expired" in webhooks.MESSAGE_STATUSES,
        "verdict": sending.send_verdict("expired"),
        "overview_failed": "expired" in overview._params(None)["failed"],
        "purge_keeps": "expired" not in models.LIVE_MESSAGE_STATUSES,
    },
}))
"""


def test_every_vocabulary_is_handled_everywhere_today():
    assert vocabulary_checks.run() == {}


def _with_new_status(arabic: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, str(ROOT / "fleet_dashboard/messaging/models.py"), ANCHOR,
                          NEW_MEMBER, arabic], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("arabic", ["", "انتهت صلاحيتها"])
def test_a_new_message_status_costs_its_definition_and_its_arabic_name(arabic):
    result = _with_new_status(arabic)
    if not arabic:
        # The definition alone: exactly one place still needs a hand, and a check names it.
        assert set(result["failures"]) == {"arabic_name"}, result["failures"]
        assert "expired" in result["failures"]["arabic_name"]
    else:
        assert result["failures"] == {}
    # Everything else took it from the definition: receipts, chips, webhooks, senders, the overview, retention.
    assert result["derived"] == {"order": 1, "receipt_sql": True, "chip": "red", "webhooks": True,
                                 "verdict": "failed", "overview_failed": True, "purge_keeps": True}


# A new message type, as a developer would add it: a file a caller may name (docs/ARCHITECTURE.md's recipe).
NEW_TYPE = '    video = "video", True, True\n'
TYPE_ANCHOR = '    document = "document", True, True\n'

_TYPE_SCRIPT = """
import json, sys, types
from pathlib import Path

path = Path(sys.argv[1])
source = path.read_text()
anchor, member, finish = sys.argv[2], sys.argv[3], sys.argv[4] == "yes"
assert source.count(anchor) == 1, "the anchor line moved: update the test"
models = types.ModuleType("fleet_dashboard.messaging.models")
models.__file__ = str(path)
sys.modules["fleet_dashboard.messaging.models"] = models
exec(compile(source.replace(anchor, anchor + member), str(path), "exec"), models.__dict__)
from fleet_dashboard import strings
from fleet_dashboard.api.schemas import NotificationIn, SendText
from fleet_dashboard.messaging import media
from fleet_dashboard.whatsapp.engine import neonize_gateway
from tests.messaging import vocabulary_checks
if finish:  # the recipe's other steps: its Arabic name, its file rule, the library's message for it
    strings.MESSAGE_TYPE["video"] = "فيديو"
    media.FILE_RULES["video"] = media.FileRule("media_max_document_bytes", ("video/mp4",), "media_not_video")
    neonize_gateway.FILE_MESSAGES["video"] = neonize_gateway.FILE_MESSAGES["document"]
[check] = [c for c in models.WhatsAppMessage.__table__.constraints if c.name == "ck_whatsapp_messages_type"]
print(json.dumps({
    "failures": vocabulary_checks.run(),
    "derived": {
        "file": "video" in models.MEDIA_TYPES,
        "api_type": "video" in SendText.model_json_schema()["properties"]["type"]["enum"],
        "api_file_kind": "video" in str(NotificationIn.model_json_schema()["properties"]["type"]),
        "check_constraint": "'video'" in str(check.sqltext),
    },
}))
"""


def _with_new_type(finish: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", _TYPE_SCRIPT, str(ROOT / "fleet_dashboard/messaging/models.py"),
                          TYPE_ANCHOR, NEW_TYPE, "yes" if finish else "no"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("finish", [False, True], ids=["definition-only", "recipe-followed"])
def test_a_new_message_type_costs_exactly_the_recipes_steps(finish):
    result = _with_new_type(finish)
    if not finish:
        # The definition alone: the checks name each place the recipe lists, and nothing else.
        assert set(result["failures"]) == {"message_type_arabic_name", "message_type_file_rules",
                                           "message_type_gateway"}, result["failures"]
        assert all("video" in why for why in result["failures"].values()), result["failures"]
    else:
        assert result["failures"] == {}
    # The API's enums and the table's CHECK constraint took it from the definition (the migration aside).
    assert result["derived"] == {"file": True, "api_type": True, "api_file_kind": True, "check_constraint": True}
