"""The checks every platform shares before a command runs, and the buttons a reply carries.

Front ends call ``dispatch`` with a command's name and ``handle_action`` with a pressed button's
action; both answer with a ``Reply`` whatever came in.
"""

from __future__ import annotations

from bot.chat.about import COMMANDS
from bot.chat.inputs import check_text
from bot.chat.news import claims_with_verdict, similar_claims
from bot.chat.reply import Reply, decode_ids, error_reply
from bot.chat.services import Request, Services


def needs_chat_admin(name: str, req: Request) -> bool:
    """Whether this command, in this chat, may only be run by a chat administrator.

    In a group, changing the group's own subscription is for its administrators; reading the
    settings is for everyone. Front ends ask the platform only when this says so.
    """
    spec = COMMANDS.get(name)
    if spec is None or not spec.changes_subscription or not req.is_group:
        return False
    return not (name == "settings" and not req.args.strip())


async def dispatch(name: str, req: Request, svc: Services) -> Reply:
    """Run one command after the checks every platform shares (unknown, rights, bad input)."""
    key = name.lower().lstrip("/")
    spec = COMMANDS.get(key)
    if spec is None:
        shown = key[:32] if check_text(key, limit=64) is None else "that"
        return error_reply(f"Unknown command {shown!s}. Send {req.prefix}help for the list.")
    problem = check_text(req.args, limit=spec.args_limit)
    if problem is not None:
        return error_reply(problem)
    if spec.admin_only and not req.is_admin:
        return error_reply("Only bot administrators can change the feed list.")
    if needs_chat_admin(key, req) and not (req.is_admin or req.is_chat_admin):
        return error_reply("Only this chat's administrators can change its subscription.")
    return await spec.handler(req, svc)


async def handle_action(action: str, req: Request, svc: Services) -> Reply:
    """A pressed button. Actions come back from the platform, so they are parsed defensively."""
    kind, _, payload = action.partition(":")
    ids = decode_ids(payload)
    if ids is None or len(action.encode()) > 256:
        return error_reply("That button has expired; please run the command again.")
    if kind in ("rep", "upd"):
        return await claims_with_verdict(ids, "repeated" if kind == "rep" else "updated", svc)
    if kind == "cl":
        return await similar_claims(ids, svc)
    return error_reply("That button has expired; please run the command again.")
