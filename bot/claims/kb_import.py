"""Importing an external knowledge base (``nkwatch kb import``): validated JSONL rows stored,
indexed and judged on the timeline like any story's claims."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dateutil import parser as date_parser

from bot.claims.backfill import backfill
from bot.claims.candidates import stored_claim
from bot.claims.extract import extract_attributes
from bot.claims.semantic import to_bytes
from bot.claims.timeline import Moment
from storage import claims as claim_store

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sqlalchemy.orm import Session

    from bot.claims.engine import ClaimEngine
    from storage.models import Claim


@dataclass(frozen=True, slots=True)
class KbRow:
    """A validated ``kb import`` line."""

    external_id: str
    text: str
    source: str | None
    published: datetime | None


@dataclass
class ImportReport:
    added: int = 0
    present: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_kb_line(line: str) -> KbRow:
    """One JSONL line of ``kb import``; ValueError says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        msg = f"not JSON ({exc.msg})"
        raise ValueError(msg) from exc
    if not isinstance(data, dict):
        msg = "expected a JSON object"
        raise ValueError(msg)
    raw_id = data.get("id")
    if raw_id is None or isinstance(raw_id, (dict, list, bool)) or not str(raw_id).strip():
        msg = "missing 'id'"
        raise ValueError(msg)
    external_id = str(raw_id).strip()
    if len(external_id) > 200:
        msg = "'id' longer than 200 characters"
        raise ValueError(msg)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        msg = "missing or empty 'text'"
        raise ValueError(msg)
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        source = str(source)
    return KbRow(
        external_id=external_id,
        text=text.strip(),
        source=source[:500] if source else None,
        published=parse_published(data.get("published")),
    )


def parse_published(value: object) -> datetime | None:
    """ISO dates, datetimes or loose date strings; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str):
        msg = "'published' must be a date string"
        raise ValueError(msg)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = date_parser.parse(value)
        except (ValueError, OverflowError) as exc:
            msg = f"'published' is not a date: {value[:40]!r}"
            raise ValueError(msg) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def import_claims(
    engine: ClaimEngine,
    session: Session,
    rows: Sequence[KbRow],
    *,
    batch: int = 512,
    judge: bool = True,
) -> int:
    """Store external claims (idempotent on id), index and (``judge``) judge them on the
    timeline; returns how many were new. ``judge=False`` is for bulk loads of a corpus."""
    added_total = 0
    now = datetime.now(UTC)
    for lo in range(0, len(rows), batch):
        chunk = rows[lo : lo + batch]
        prepared = [
            claim_store.ExternalClaim(
                external_id=row.external_id,
                text=row.text,
                source=row.source,
                published=row.published,
                attrs=extract_attributes(
                    row.text, published=row.published or now, lexicon=engine.lexicon
                ).to_json(),
            )
            for row in chunk
        ]
        added, _ = claim_store.import_external_claims(session, rows=prepared)
        if not added:
            continue
        texts = [c.text for c in added]
        vecs = engine.index.encode(texts)
        if vecs is not None:
            claim_store.set_embeddings(
                session, embeddings={c.id: to_bytes(vecs[i]) for i, c in enumerate(added)}
            )
        engine.add_to_index(
            [c.id for c in added],
            texts,
            embeddings=vecs,
            published=[c.first_seen_at for c in added],
        )
        added_total += len(added)
        if judge:
            judge_imported(engine, session, added, vecs, now=now)
    return added_total


def judge_imported(
    engine: ClaimEngine,
    session: Session,
    added: Sequence[Claim],
    vecs: NDArray[np.float32] | None,
    *,
    now: datetime,
) -> None:
    """Imported claims join the timeline: each is judged against what was reported before
    it, and one older than stored claims becomes the earlier report of what they repeat."""
    position = {c.id: i for i, c in enumerate(added)}
    for claim in sorted(added, key=lambda c: (c.first_seen_at or now, c.id)):
        if claim.first_seen_at is None:
            claim.first_seen_at = now  # undated: on the timeline at its import time
        moment = Moment(claim.first_seen_at)
        vec = None if vecs is None else vecs[position[claim.id]]
        candidates = engine.retrieve(session, claim.text, query_vec=vec, before=moment)
        verdict = engine.judge(stored_claim(claim), candidates)
        if verdict.status != "new":
            best = verdict.matches[0].candidate
            claim.verdict = verdict.status
            claim.score = float(verdict.score)
            claim.changes = [{"what": c.what, "old": c.old, "new": c.new} for c in verdict.changed]
            claim.matched_claim_id = best.claim_id
            claim.root_claim_id = best.root_claim_id or best.claim_id
        session.flush()
        if claim_store.reported_later_exists(session, after=claim.first_seen_at):
            backfill(
                engine,
                session,
                claim_ids=[claim.id],
                texts=[claim.text],
                vecs=None if vec is None else vec[None, :],
                moment=moment,
                reason=f"an earlier report was imported: {claim.external_id}",
            )
