"""`fleet-dashboard api-key ...` and `fleet-dashboard webhook ...`: credentials and webhooks for operators."""

from __future__ import annotations

import argparse

from fleet_dashboard.accounts import orgs
from fleet_dashboard.accounts.permissions import operator
from fleet_dashboard.core.db import session_scope
from fleet_dashboard.core.errors import ValidationError
from fleet_dashboard.integrations import api_keys, webhooks


def _org_id(session, slug: str):
    return orgs.get_org_by_slug(session=session, slug=slug).id


def _api_key_create(args: argparse.Namespace) -> int:
    with session_scope() as session:
        if args.platform:
            row, plain = api_keys.create_platform_key(session=session, name=args.name, actor=operator())
        elif args.org:
            row, plain = api_keys.create_key(session=session, org_id=_org_id(session, args.org), name=args.name,
                                             scopes=args.scopes, actor=operator())
        else:
            raise ValidationError("give --org SLUG, or --platform for a provisioning (/api/admin) key")
    print(f"created API key {row.name!r} (id {row.id}, scopes {', '.join(row.scopes)})")
    print(f"\n  {plain}\n")
    print("This key is shown once and stored only as a hash: keep it somewhere safe now.")
    return 0


def _api_key_revoke(args: argparse.Namespace) -> int:
    with session_scope() as session:
        org_id = _org_id(session, args.org) if args.org else None
        row = api_keys.revoke_key(actor=operator(), session=session, key_id_or_prefix=args.key, org_id=org_id)
    print(f"revoked API key {row.prefix}… ({row.name!r}, id {row.id})")
    return 0


def _api_key_list(args: argparse.Namespace) -> int:
    with session_scope() as session:
        if args.platform:
            rows = api_keys.list_platform_keys(session=session)
        elif args.org:
            rows = api_keys.list_keys(actor=operator(), session=session, org_id=_org_id(session, args.org))
        else:
            raise ValidationError("give --org SLUG, or --platform")
    if not rows:
        print("no API keys")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        print(f"{row.id}  {row.prefix}…  {row.name:<20} {','.join(row.scopes):<20} {state:<18} used {used}")
    return 0


def _webhook_set(args: argparse.Namespace) -> int:
    with session_scope() as session:
        row, generated = webhooks.set_webhook(session=session, org_id=_org_id(session, args.org), url=args.url,
                                              secret=args.secret, events=args.events, actor=operator())
    print(f"webhook {row.id} -> {row.url} (events {', '.join(row.events)})")
    if generated:
        print(f"\n  signing secret: {generated}\n")
        print("Verify X-Fleet-Signature with this secret (see docs/API.md); it is shown once here.")
    return 0


def _webhook_list(args: argparse.Namespace) -> int:
    with session_scope() as session:
        org_id = _org_id(session, args.org) if args.org else None
        rows = webhooks.list_webhooks(actor=operator(), session=session, org_id=org_id)
    if not rows:
        print("no webhooks")
    for row in rows:
        state = "active" if row.is_active else "inactive"
        print(f"{row.id}  org {row.org_id}  {state:<8} {','.join(row.events):<45} {row.url}")
    return 0


def _webhook_delete(args: argparse.Namespace) -> int:
    with session_scope() as session:
        org_id = _org_id(session, args.org) if args.org else None
        row = webhooks.delete_webhook(actor=operator(), session=session, webhook_id=args.webhook_id, org_id=org_id)
    print(f"deleted webhook {row.id} ({row.url})")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the api-key and webhook command groups to the main parser."""
    keys = sub.add_parser("api-key", help="organisation API keys for the HTTP API")
    actions = keys.add_subparsers(dest="action")
    p = actions.add_parser("create", help="create a key (shown once)")
    p.set_defaults(handler=_api_key_create)
    p.add_argument("--org", help="organisation slug")
    p.add_argument("--platform", action="store_true",
                   help="a key for the SaaS's provisioning calls (/api/admin), tied to no organisation")
    p.add_argument("--name", default="default")
    p.add_argument("--scopes", nargs="+", help="send, sessions, read (default: all)")
    p = actions.add_parser("revoke", help="revoke a key by id or prefix")
    p.set_defaults(handler=_api_key_revoke)
    p.add_argument("key", metavar="KEY_ID_OR_PREFIX")
    p.add_argument("--org", help="organisation slug (narrows a prefix match)")
    p = actions.add_parser("list", help="list an organisation's keys")
    p.set_defaults(handler=_api_key_list)
    p.add_argument("--org", help="organisation slug")
    p.add_argument("--platform", action="store_true", help="list the platform (/api/admin) keys")

    hooks = sub.add_parser("webhook", help="where events are POSTed, signed with HMAC-SHA256")
    actions = hooks.add_subparsers(dest="action")
    p = actions.add_parser("set", help="add or update the webhook for a URL")
    p.set_defaults(handler=_webhook_set)
    p.add_argument("--org", required=True, help="organisation slug")
    p.add_argument("--url", required=True)
    p.add_argument("--secret", help="signing secret, 16+ characters (default: generated and shown once)")
    p.add_argument("--events", nargs="+", help="message.status session.status message.inbound (default: all)")
    p = actions.add_parser("list", help="list webhooks")
    p.set_defaults(handler=_webhook_list)
    p.add_argument("--org", help="organisation slug (default: every organisation)")
    p = actions.add_parser("delete", help="delete a webhook by id")
    p.set_defaults(handler=_webhook_delete)
    p.add_argument("webhook_id", metavar="WEBHOOK_ID")
    p.add_argument("--org", help="organisation slug")

