"""A customer known only by a LID whose number whatsmeow's store does not know yet: the reply and a STOP are kept
under the LID (an opt-out is never lost), and move to the number once the store maps it."""

from __future__ import annotations

import asyncio

from sqlmodel import Session, select

from fleet_dashboard.core.db import session_scope
from fleet_dashboard.messaging import optouts
from fleet_dashboard.messaging.models import InboundMessage, OptOut
from fleet_dashboard.whatsapp.engine import store
from fleet_dashboard.whatsapp.engine.neonize_gateway import NeonizeFactory
from tests.support.neonize import map_lid

LID, NUMBER = "777000111222", "201005550077"


def _rows(model, org_id):
    with session_scope() as s:
        return [r.phone for r in s.exec(select(model).where(model.org_id == org_id))]


def test_a_stop_from_an_unmapped_lid_is_kept_and_moves_to_its_number_once_mapped(sim_env, database_url,
                                                                                  db: Session, make_org):
    org = make_org()
    asyncio.run(NeonizeFactory().prepare_store())  # whatsmeow's tables, the LID map among them

    assert store.record_inbound(org.id, f"{LID}@lid", "STOP", "LIDSTOP1") == "opted_out"
    assert _rows(OptOut, org.id) == [f"{LID}@lid"]
    assert _rows(InboundMessage, org.id) == [f"{LID}@lid"]
    assert store.map_lids([org.id]) == 0  # nothing known yet: kept as it is

    map_lid(database_url, LID, NUMBER)
    assert store.map_lids([org.id]) == 1
    assert _rows(OptOut, org.id) == [f"+{NUMBER}"]
    assert _rows(InboundMessage, org.id) == [f"+{NUMBER}"]
    with session_scope() as s:
        assert optouts.is_opted_out(session=s, org_id=org.id, phone=f"+{NUMBER}")
    assert store.map_lids([org.id]) == 0

    # Once mapped, the next message from that LID is recorded under the number straight away.
    store.record_inbound(org.id, f"{LID}@lid", "شكرا", "LIDTHANKS")
    assert sorted(_rows(InboundMessage, org.id)) == [f"+{NUMBER}", f"+{NUMBER}"]


def test_a_lid_address_is_told_from_a_number():
    from fleet_dashboard.core.phones import is_lid

    assert is_lid("123456789@lid") and not is_lid("+201005550077") and not is_lid("abc@lid")
    assert not is_lid("123@s.whatsapp.net") and not is_lid(None)
