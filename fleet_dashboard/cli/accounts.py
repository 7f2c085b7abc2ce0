"""`fleet-dashboard user ...`: an operator ends a person's sessions, sets a password, or (de)activates them."""

from __future__ import annotations

import argparse

from fleet_dashboard.accounts.permissions import operator
from fleet_dashboard.cli import COMMANDS, EXTENSIONS
from fleet_dashboard.core.errors import ValidationError


def _run(args: argparse.Namespace) -> int:
    from fleet_dashboard.accounts import users
    from fleet_dashboard.core.db import session_scope

    if getattr(args, "action", None) is None:
        raise ValidationError("say what to do: fleet-dashboard user --help")
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
    """The `user` command group."""
    group = sub.add_parser("user", help="end a user's sessions, set a password, deactivate or activate")
    actions = group.add_subparsers(dest="action")
    p = actions.add_parser("password", help="set a new password (ends every session)")
    p.add_argument("email")
    p.add_argument("--password", required=True)
    for name, text in (("deactivate", "refuse sign-in and end every session"), ("activate", "allow sign-in again"),
                       ("sign-out", "end every session of the user")):
        actions.add_parser(name, help=text).add_argument("email")


EXTENSIONS.append(add_commands)
COMMANDS["user"] = _run
