"""`create-org`, `create-user` and `fleet-dashboard user ...`: an operator adds organisations and people, ends a
person's sessions, sets a password, or (de)activates them; every write is audited as the operator."""

from __future__ import annotations

import argparse
import getpass
import sys

from fleet_dashboard.accounts import lifecycle, people, users
from fleet_dashboard.accounts.permissions import operator
from fleet_dashboard.core.db import session_scope


def read_password(given: str | None) -> str:
    """--password, else asked twice on a terminal, else the first line of stdin (kept out of shell history)."""
    if given is not None:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != first:
            raise RuntimeError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_create_org(args: argparse.Namespace) -> int:
    with session_scope() as session:
        org = lifecycle.create_organization(session=session, actor=operator(), name=args.name, slug=args.slug)
        print(f"created organisation {org.name} (slug {org.slug}, id {org.id})")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    password = read_password(args.password)
    with session_scope() as session:
        user = people.create_account(session=session, actor=operator(), email=args.email, password=password,
                                     role=args.role, org_slug=args.org, full_name=args.full_name or "")
        print(f"created {user.role} {user.email} (id {user.id})")
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    with session_scope() as session:
        user = users.find_by_email(session=session, email=args.email)
        if args.action == "password":
            users.set_password(session=session, user_id=user.id, password=args.password, actor=operator())
            done = "password changed"
        elif args.action in ("deactivate", "activate"):
            users.set_active(session=session, user_id=user.id, active=args.action == "activate", actor=operator())
            done = f"{args.action}d"
        else:
            users.sign_out(session=session, user_id=user.id, actor=operator())
            done = "signed out"
        email = user.email
    print(f"{email}: {done}; every open session of this user has ended")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """create-org, create-user and the `user` group."""
    p = sub.add_parser("create-org", help="create an organisation")
    p.add_argument("name")
    p.add_argument("--slug")
    p.set_defaults(handler=cmd_create_org)
    p = sub.add_parser("create-user", help="create a user")
    p.add_argument("email")
    p.add_argument("--password", help="omit it to be asked (or to pipe it on stdin), out of shell history")
    p.add_argument("--role", required=True, help="owner, admin, member or super_admin")
    p.add_argument("--org", help="organisation slug (not for super_admin)")
    p.add_argument("--full-name")
    p.set_defaults(handler=cmd_create_user)

    group = sub.add_parser("user", help="end a user's sessions, set a password, deactivate or activate")
    actions = group.add_subparsers(dest="action")
    p = actions.add_parser("password", help="set a new password (ends every session)")
    p.add_argument("email")
    p.add_argument("--password", required=True)
    p.set_defaults(handler=cmd_user)
    for name, text in (("deactivate", "refuse sign-in and end every session"), ("activate", "allow sign-in again"),
                       ("sign-out", "end every session of the user")):
        p = actions.add_parser(name, help=text)
        p.add_argument("email")
        p.set_defaults(handler=cmd_user)
