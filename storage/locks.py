"""Named locks that serialise work across processes sharing one database.

Several ``nkwatch run`` processes judge claims against one knowledge base: two that judge at the
same time would each miss the other's fresh claims and both call one fact new. They take the
same named lock around judging.

PostgreSQL: advisory locks, keyed by the name and the current schema (deployments or test runs
in different schemas of one database do not wait on each other). ``hold_lock`` holds a
session-level lock on a connection of its own, for work that commits several times; the server
drops it if the process dies. ``lock_until_commit`` takes a transaction-level lock that ends
exactly when the caller's transaction commits, so what was written under it is visible to the
next holder. Both kinds exclude each other.

SQLite serves one host and, in practice, one ``nkwatch run``: ``hold_lock`` does nothing there,
and ``lock_until_commit`` writes first, so the transaction takes the database's single write
lock at once and reads a snapshot that includes every earlier writer's commit.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Lease

log = logging.getLogger(__name__)

KNOWLEDGE = "knowledge-base"


def _key(connection: Connection, name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` in the connection's current schema."""
    schema: str = connection.execute(select(func.current_schema())).scalar_one()
    digest = hashlib.blake2b(f"nkwatch:{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def bound_engine(sessions: sessionmaker[Session]) -> Engine:
    """The engine a session factory is bound to (``hold_lock`` needs a connection of its own)."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        msg = "the session factory is not bound to an engine"
        raise TypeError(msg)
    return bind


@contextmanager
def hold_lock(engine: Engine, *, name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the block, across any number of transactions.

    Takes an engine, not a session: the lock lives on a connection checked out for the block
    only, so it can never travel back into the pool with a session's connection.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    connection = engine.connect()
    unlocked = False
    try:
        key = _key(connection, name)
        connection.execute(select(func.pg_advisory_lock(key)))
        connection.commit()  # the lock is the session's; no transaction stays open
        try:
            yield
        finally:
            connection.execute(select(func.pg_advisory_unlock(key)))
            connection.commit()
            unlocked = True
    finally:
        if not unlocked:
            # Interrupted before the unlock ran: closing the connection is what frees the lock.
            connection.invalidate()
        connection.close()


def lock_until_commit(session: Session, *, name: str) -> None:
    """Take the lock ``name`` for the rest of the session's transaction (waits for holders)."""
    if session.get_bind().dialect.name == "postgresql":
        key = _key(session.connection(), name)
        session.execute(select(func.pg_advisory_xact_lock(key)))
        return
    # SQLite: any write takes the database write lock; this one changes no row.
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.name != name)
        .values(owner=Lease.owner)
        .execution_options(synchronize_session=False)
    )
