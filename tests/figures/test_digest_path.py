"""An updated figure in the digest shows the path of its series up to that report."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.digest.model import build_digest
from bot.digest.payloads import render_slack
from bot.digest.query import load_stories
from bot.digest.render import md_escape, render_markdown, render_telegram, render_text
from bot.settings import Settings
from tests.conftest import Database
from tests.figures.stream import ingest

PATH_TO_JUNE = (
    "containers of munitions to Russia: more than 1,000 (Oct 2023) → about 5,000 (Dec 2023)"
    " → about 6,700 (Feb 2024) → 3,000–4,500 (Mar 2024) → 10,000 (Jun 2024)"
)
CHART = "(chart: /track containers-of-munitions-to-russia)"


def test_updated_claims_show_the_series_path(db: Database) -> None:
    ingest(db.sessions, Settings(database_url=db.url, semantic="off"))
    until = datetime(2030, 1, 1, tzinfo=UTC)
    with db.sessions() as s:
        stories = load_stories(s, since=None, until=until)
    june = [s for s in stories if s.published and s.published.month == 6]
    (claim,) = [c for c in june[0].claims if "10,000 containers" in c.text]
    assert claim.verdict == "updated"
    assert claim.path == PATH_TO_JUNE  # later reports (Oct 2024) are not part of it yet
    digest = build_digest(stories, since=None, until=until)
    text = render_text(digest)
    assert f"    {PATH_TO_JUNE} {CHART}" in text
    # the Markdown escaping itself is the digest renders' business (issue 16 item 6)
    assert f"  - {md_escape(f'{PATH_TO_JUNE} {CHART}')}" in render_markdown(digest)
    assert any(f"📈 {PATH_TO_JUNE}" in part for part in render_telegram(digest))
    assert PATH_TO_JUNE in json.dumps(render_slack(digest), ensure_ascii=False)
    new_only = [c for s in stories for c in s.claims if c.verdict != "updated"]
    assert all(c.path is None for c in new_only)
