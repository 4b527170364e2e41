"""`/track` for both chat front ends: the live series, or one series as a chart and a table.

A handler of the shared chat command layer: it returns a ``Reply`` whose ``image``
each front end sends its own way (Telegram ``sendPhoto``, Slack's file upload).
"""

from __future__ import annotations

from bot.chat.reply import (
    Block,
    Image,
    Reply,
    Span,
    error_reply,
    item,
    para,
    reply,
    span,
    web_link,
)
from bot.chat.services import Request, Services, blocking
from bot.figures.query import load_series, point_date
from bot.figures.series import Series, find_series, path_line

__all__ = ["TABLE_ROWS", "cmd_track"]

LIST_MAX = 15
TABLE_ROWS = 12


def _listing(found: list[Series], prefix: str) -> Reply:
    if not found:
        return reply(
            para(
                "No tracked figures yet: a figure becomes a series when a later story reports it "
                "again."
            )
        )
    blocks: list[Block] = [para(span("Tracked figures", bold=True))]
    for s in found[:LIST_MAX]:
        latest = s.latest
        blocks.append(
            item(
                span(s.name, bold=True),
                f": {latest.shown} ({point_date(latest)}, {latest.source}) · {s.change()}",
            )
        )
    if len(found) > LIST_MAX:
        blocks.append(para(f"… and {len(found) - LIST_MAX} more."))
    blocks.append(para(f"Send {prefix}track NAME (e.g. {prefix}track containers) for a chart."))
    return reply(*blocks)


def _table(series: Series, image: Image) -> Reply:
    blocks: list[Block] = [para(span(series.name, bold=True)), para(path_line(series))]
    shown = series.points[-TABLE_ROWS:]
    if len(series.points) > len(shown):
        blocks.append(para(f"Newest {len(shown)} of {len(series.points)} reports:"))
    for p in shown:
        parts: list[Span | str] = [f"{point_date(p)} · {p.shown} · {p.source} · "]
        url = web_link(p.url)
        parts.append(span("link", url=url) if url else (p.url or "no link"))
        blocks.append(item(*parts))
    return reply(*blocks, image=image)


async def cmd_track(req: Request, svc: Services) -> Reply:
    prefix = req.prefix

    def load() -> list[Series]:
        with svc.sessions() as session:
            return load_series(session)

    found = await blocking(load)
    query = req.args.strip()
    if not query:
        return _listing(found, prefix)
    series = find_series(found, query)
    if series is None:
        return error_reply(
            f"No tracked figure matches “{query[:60]}”. Send {prefix}track for the list."
        )

    def draw() -> Image:
        from bot.figures.chart import render_chart  # noqa: PLC0415 - matplotlib loads slowly

        chart = render_chart(series)
        return Image(data=chart.png, filename=f"{series.slug}.png", title=series.name)

    return _table(series, await blocking(draw))
