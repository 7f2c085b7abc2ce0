"""The real WhatsApp gateway on neonize: the only code in the product that imports neonize.

Only engine processes load it, and only through `gateway.factory_for` (docs/ARCHITECTURE.md). Outside code
imports from here; the modules inside are
- adapter.py: NeonizeGateway, one organisation's whatsmeow client, and the library's time limits;
- events.py: neonize's events and callbacks turned into gateway events (mixed into NeonizeGateway);
- factory.py: NeonizeFactory, the process's side: the store, the gate, finished clients.
Tests that shorten a time limit patch the module that reads it (adapter.CALL_TIMEOUT, events.FIRST_QR_SECONDS).
"""

from fleet_dashboard.whatsapp.neonize_gateway.adapter import NeonizeGateway
from fleet_dashboard.whatsapp.neonize_gateway.factory import NeonizeFactory

__all__ = ["NeonizeFactory", "NeonizeGateway"]
