"""Leases: a named role held by one process at a time, for as long as it keeps renewing.

Telegram answers ``409 Conflict`` when two processes long-poll one bot token, so with several
``nkwatch run`` processes only the holder of a lease polls. Each operation is one atomic
statement: ``acquire`` inserts the row, or takes it over when it is already ours or has run out
(an upsert); ``renew`` and ``release`` touch the row only while we still own it. A holder that
dies stops renewing, and another process acquires the role once ``expires_at`` has passed.
Times come from the callers' clocks, so hosts sharing a database keep their clocks in sync.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Lease


def acquire(session: Session, *, name: str, owner: str, now: datetime, until: datetime) -> bool:
    """Hold ``name`` until ``until`` if it is free, expired or already ours; True if we hold it."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    row = insert(Lease).values(name=name, owner=owner, expires_at=until)
    take = row.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={"owner": row.excluded.owner, "expires_at": row.excluded.expires_at},
        where=or_(Lease.owner == owner, Lease.expires_at <= now),
    )
    return session.execute(take.returning(Lease.owner)).scalar_one_or_none() == owner


def renew(session: Session, *, name: str, owner: str, until: datetime) -> bool:
    """Extend our hold; False if the lease is gone or another process has taken it over."""
    result = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.owner == owner)
        .values(expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(session: Session, *, name: str, owner: str) -> bool:
    """Give the role up at once (a graceful stop); False if we did not hold it."""
    result = session.execute(
        delete(Lease)
        .where(Lease.name == name, Lease.owner == owner)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def holder(session: Session, *, name: str, now: datetime) -> str | None:
    """Who holds ``name`` now, or None when nobody does (never taken, released or run out)."""
    return session.scalar(select(Lease.owner).where(Lease.name == name, Lease.expires_at > now))
