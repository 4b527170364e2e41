"""``nkwatch digest --format html``: the digest as a standalone page a person can open.

A whole document (doctype, charset, title, a little inline CSS, no scripts, nothing fetched), so
it reads the same saved to disk, mailed or opened offline. Every feed string is escaped; links
are made only from http(s) URLs. The Telegram preview keeps its own format (``telegram-html``).
"""

from __future__ import annotations

from bot.digest.model import Digest, StoryDigest
from bot.digest.render import (
    h,
    heading,
    hidden_line,
    omitted_line,
    repeat_line,
    safe_url,
    sources_line,
    story_meta,
    totals_line,
    updated_suffix,
)

CSS = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f6f7f9;color:#1d2330}
main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.5rem;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:2px solid #c9d1de;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.25rem 0 .25rem}
article{background:#fff;border:1px solid #dde3ec;border-radius:8px;padding:.75rem 1rem;
margin:.75rem 0}
article>h2,article>h3{margin-top:0;border:0}
.meta,.totals,.tail{color:#5b6478;font-size:.9rem;margin:.2rem 0}
ul{padding-left:1.2rem;margin:.5rem 0}
li{margin:.2rem 0}
.new b{color:#0b6e4f}.updated b{color:#9a5b00}
.repeated{color:#5b6478}
.repeated ul{font-size:.92rem}
a{color:#1f5fbf}
""".strip()


def _link(label: str, url: str | None) -> str:
    target = safe_url(url)
    return f'<a href="{h(target)}">{h(label)}</a>' if target else h(label)


def _story(story: StoryDigest, level: int) -> list[str]:
    out = ["<article>", f"<h{level}>{_link(story.title, story.url)}</h{level}>"]
    meta = story_meta(story)
    if meta:
        out.append(f'<p class="meta">{h(meta)}</p>')
    items = [f'<li class="new"><b>New:</b> {h(n.text)}</li>' for n in story.new]
    items += [
        f'<li class="updated"><b>Updated:</b> {h(u.text + updated_suffix(u))}</li>'
        for u in story.updated
    ]
    if story.omitted_claims:
        items.append(f"<li>(+{story.omitted_claims} more new/updated claims not shown)</li>")
    if story.repeated:
        lines = [
            f"<li>{repeat_line(line, escape=h, link=_link)}</li>" for line in story.repeated.lines
        ]
        if hidden_line(story.repeated):
            lines.append(f"<li>{h(hidden_line(story.repeated))}</li>")
        items.append(
            f'<li class="repeated"><i>{h(story.repeated.line())}</i><ul>{"".join(lines)}</ul></li>'
        )
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    out.append("</article>")
    return out


def render_page(digest: Digest) -> str:
    """One HTML5 document; heading levels follow the Markdown render (h1, h2 event, h3 story)."""
    title = heading(digest)
    body = [f"<h1>{h(title)}</h1>"]
    if digest.is_empty:
        body.append(f"<p>{h(digest.empty_line())}</p>")
    else:
        body.append(f'<p class="totals">{h(totals_line(digest))}</p>')
        for group in digest.groups:
            if group.show_header:
                body.append(f"<section><h2>{h(group.title)}</h2>")
            for story in group.stories:
                body += _story(story, 3 if group.show_header else 2)
            if group.show_header:
                body.append("</section>")
        for line in (omitted_line(digest), sources_line(digest)):
            if line:
                body.append(f'<p class="tail">{h(line)}</p>')
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{h(title)}</title>",
            f"<style>\n{CSS}\n</style>",
            "</head>",
            "<body>",
            "<main>",
            *body,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )
