"""`/latest`, `/claim` and `/sources`, and the claim lists their buttons open."""

from __future__ import annotations

from collections.abc import Sequence

from bot.chat.reply import (
    Button,
    Reply,
    Span,
    encode_ids,
    error_reply,
    fmt_date,
    item,
    para,
    plural,
    reply,
    span,
    web_link,
)
from bot.chat.services import ClaimInfo, Request, Services, blocking
from storage import subscriptions as subs_store

LATEST_DEFAULT = 5
LATEST_MAX = 20
CLAIM_TOP = 5


async def _chat_min_relevance(req: Request, svc: Services) -> float:
    def work() -> float:
        with svc.sessions() as session:
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            return sub.min_relevance if sub is not None and sub.active else 0.0

    return await blocking(work)


async def cmd_latest(req: Request, svc: Services) -> Reply:
    words = req.args.split()
    limit = LATEST_DEFAULT
    if words:
        if len(words) > 1 or not words[0].isdigit() or not 1 <= int(words[0]) <= LATEST_MAX:
            return error_reply(f"Usage: latest [N], where N is 1 to {LATEST_MAX}.")
        limit = int(words[0])
    min_relevance = await _chat_min_relevance(req, svc)
    stories = await blocking(lambda: svc.news.latest(limit=limit, min_relevance=min_relevance))
    if not stories:
        return reply(para("No relevant stories yet. The feeds are polled regularly; try later."))
    blocks = [
        para(
            span(f"Latest {plural(len(stories), 'relevant story', 'relevant stories')}", bold=True)
        )
    ]
    for story in stories:
        meta = " · ".join(x for x in (story.outlet, fmt_date(story.published_at)) if x)
        counts = f"{story.new} new, {story.repeated} repeated, {story.updated} updated"
        blocks.append(
            item(span(story.title or "(untitled)", url=story.url), f" — {meta} — {counts}")
        )
    buttons: list[Button] = []
    with_repeats = [s.article_id for s in stories if s.repeated]
    if with_repeats:
        buttons.append(Button("Show repeated claims", encode_ids("rep", with_repeats)))
    with_updates = [s.article_id for s in stories if s.updated]
    if with_updates:
        buttons.append(Button("Show updated claims", encode_ids("upd", with_updates)))
    return reply(*blocks, buttons=buttons)


def source_line(info: ClaimInfo) -> list[Span | str]:
    parts: list[Span | str] = []
    source = info.source or info.article_title or "unknown source"
    parts.append(span(source, url=web_link(info.url)))
    parts.append(f", {fmt_date(info.published_at)}")
    return parts


_STATUS_WORD = {
    "new": "NEW — no earlier report matches this claim.",
    "repeated": "REPEATED — this was reported before.",
    "updated": "UPDATED — an earlier report gave a different figure.",
}


async def cmd_claim(req: Request, svc: Services) -> Reply:
    text = " ".join(req.args.split())
    if not text:
        return error_reply(
            f"Usage: {req.prefix}claim TEXT, e.g. claim North Korea shipped "
            "artillery shells to Russia."
        )
    if len(text) < 8 or len(text.split()) < 3:
        return error_reply("Please give a whole claim (a sentence of at least three words).")
    if svc.claims is None:
        return error_reply("The claim checker is not available right now; try again later.")
    checker = svc.claims
    verdict = await blocking(lambda: checker.check(text, top=CLAIM_TOP))
    blocks = [para(span("Verdict: ", bold=True), _STATUS_WORD.get(verdict.status, verdict.status))]
    buttons: list[Button] = []
    if verdict.matches:
        best = verdict.matches[0].candidate
        blocks.append(para(span("Matched claim: ", bold=True), f"“{best.text}”"))
        blocks.append(
            para(
                span("Source: ", bold=True),
                span(best.source or best.article_title or "unknown", url=web_link(best.url)),
                f", {fmt_date(best.published)}",
                f" (match score {verdict.matches[0].score:.2f})",
            )
        )
        if verdict.status != "new":
            root = best.root_claim_id or best.claim_id
            count = await blocking(lambda: svc.news.fact_sources(root))
            if root != best.claim_id:
                for first in await blocking(lambda: svc.news.claims_by_id([root])):
                    blocks.append(para(span("First reported: ", bold=True), *source_line(first)))
            blocks.append(para(f"Reported by {plural(max(count, 1), 'source')} so far."))
        ids = [m.candidate.claim_id for m in verdict.matches]
        label = "Show similar claims" if verdict.status == "new" else "Show all matches"
        buttons.append(Button(label, encode_ids("cl", ids)))
    for change in verdict.changed:
        blocks.append(
            item(span("Changed ", bold=True), f"{change.what}: {change.old} → {change.new}")
        )
    if verdict.explanation:
        blocks.append(para(verdict.explanation))
    return reply(*blocks, buttons=buttons)


async def cmd_sources(req: Request, svc: Services) -> Reply:
    if svc.feeds is None:
        return error_reply("The feed list is not available right now.")
    directory = svc.feeds
    feeds = await blocking(directory.list_feeds)
    if not feeds:
        return reply(para("No feeds configured."))
    blocks = [para(span(f"{plural(len(feeds), 'feed')}", bold=True))]
    for feed in feeds:
        if not feed.enabled:
            health = f"disabled ({feed.disabled_reason or 'by an admin'})"
        elif feed.healthy:
            health = f"ok, last success {fmt_date(feed.last_success_at)}"
        else:
            error = (feed.last_error or "error")[:120]
            health = f"failing ({plural(feed.error_count, 'error')}: {error})"
        blocks.append(
            item(span(f"#{feed.id} "), span(feed.name, url=web_link(feed.url)), f" — {health}")
        )
    return reply(*blocks)


async def claims_with_verdict(article_ids: Sequence[int], verdict: str, svc: Services) -> Reply:
    """The repeated or updated claims of the stories a ``/latest`` button listed."""
    claims = await blocking(lambda: svc.news.claims_of(article_ids, verdict=verdict))
    if not claims:
        return reply(para(f"No {verdict} claims in those stories."))
    blocks = [para(span(f"{verdict.capitalize()} claims", bold=True))]
    for info in claims:
        parts: list[Span | str] = [f"“{info.text}” — "]
        parts += source_line(info)
        if info.earlier_source or info.earlier_date:
            parts.append(
                f"; first reported {fmt_date(info.earlier_date)}"
                + (f" by {info.earlier_source}" if info.earlier_source else "")
            )
        blocks.append(item(*parts))
    return reply(*blocks)


async def similar_claims(claim_ids: Sequence[int], svc: Services) -> Reply:
    """The stored claims a ``/claim`` verdict matched, as its button lists them."""
    claims = await blocking(lambda: svc.news.claims_by_id(claim_ids))
    if not claims:
        return reply(para("Those claims are no longer stored."))
    blocks = [para(span("Similar stored claims", bold=True))]
    for info in claims:
        blocks.append(item(f"“{info.text}” — ", *source_line(info)))
    return reply(*blocks)
