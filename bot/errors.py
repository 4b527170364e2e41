"""nkwatch's own exceptions, each carrying one line for the user and a sysexits exit code.

The tree says whose the problem is, so the CLI can say what to do about it:

    NkwatchError                      base; ``exit_code`` follows sysexits(3)
    ├── UserError                     the user's input or configuration: fix it and rerun
    │   ├── ConfigError        78     a setting or configuration file (EX_CONFIG)
    │   │   ├── LexiconError          the lexicon file (``bot.claims.lexicon``)
    │   │   ├── IndexDirError         an index directory that holds something else
    │   │   ├── MissingTokenError     no Telegram bot token (``bot.telegram.app``)
    │   │   ├── SlackConfigError      Slack settings it cannot start with (``bot.slack.config``)
    │   │   ├── FeedConfigError       the default feed list (``bot.feeds.config``)
    │   │   └── TopicsError           the topic lexicon for relevance (``bot.feeds.relevance``)
    │   ├── InputError         65     data given on the command line or stdin (EX_DATAERR)
    │   │   ├── StreamError           an eval stream file (``bot.claims.streams``)
    │   │   ├── LabelledFileError     a labelled claims file (``bot.claims.evaluation``)
    │   │   └── FeedAddError          ``feeds add`` refuses the URL (``bot.feeds.cli``)
    │   └── FeedRejectedError  65     a feed /addfeed refuses (``bot.chat.services``); a chat reply
    ├── PlatformError                 the machine or a service nkwatch depends on: not a bug
    │   ├── DatabaseUnavailableError  69  the database refused or cannot be reached (EX_UNAVAILABLE)
    │   ├── DatabaseFileError  73     a SQLite file that cannot be created or opened (EX_CANTCREAT)
    │   ├── SemanticUnavailableError  semantic = "on" but the model or its libraries are missing
    │   ├── FetchError                a feed fetch failed; one line in the feed's error log
    │   │   ├── UnsafeURLError        the host is or resolves to an address nkwatch must not reach
    │   │   │   └── UnresolvableHostError  DNS gave no answer
    │   │   └── BodyTooLargeError     the body passed the size cap (``bot.feeds.fetch``)
    │   ├── DeliveryError             a chat platform did not take a message (``Sender.send``)
    │   │   ├── RetryableError        not now (flood limit, busy, no connection): try again later
    │   │   ├── PermanentError        the chat cannot receive anything: deactivate it
    │   │   ├── RejectedError         this message is refused: fail it, keep the subscription
    │   │   ├── AmbiguousError        timed out after the request left: maybe delivered, not resent
    │   │   └── ChatMovedError        the chat has a new id: send to that one
    │   └── MarkRefusedError          an outbox row is no longer ours (``bot.pacing``; caught there)
    └── InternalError          70     a bug in nkwatch (EX_SOFTWARE); any unexpected exception
        ├── PairScorerError           the bundled pair-scorer coefficients do not fit the code
        ├── CorpusError               the bundled seed corpus is missing or malformed
        └── DemoError                 a piece `nkwatch demo` needs is missing (``bot.digest.demo``)

``as_nkwatch_error`` maps what libraries raise (SQLAlchemy's connection errors) into the tree;
anything it does not know is an ``InternalError``, whose traceback ``-v`` shows. The outbox loop
(``bot.outbox.loop``) catches every ``DeliveryError`` and records it on the delivery's row.
"""

from __future__ import annotations

import os

EX_DATAERR = 65
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70
EX_CANTCREAT = 73
EX_CONFIG = 78


class NkwatchError(Exception):
    """Base of every nkwatch error; ``str()`` is one line meant for the user."""

    exit_code = EX_SOFTWARE


class UserError(NkwatchError):
    """Something the user gave (a setting, a file, a claim) is wrong."""

    exit_code = EX_DATAERR


class ConfigError(UserError):
    exit_code = EX_CONFIG


class InputError(UserError):
    exit_code = EX_DATAERR


class PlatformError(NkwatchError):
    """A service or resource outside nkwatch failed; retrying later or elsewhere may help."""

    exit_code = EX_UNAVAILABLE


class DatabaseUnavailableError(PlatformError):
    exit_code = EX_UNAVAILABLE


class DatabaseFileError(PlatformError):
    exit_code = EX_CANTCREAT


class DeliveryError(PlatformError):
    """Base of the errors a ``Sender`` raises; the message is logged and stored."""


class RetryableError(DeliveryError):
    """Not accepted now (flood limit, server busy, no connection): try again after a pause."""

    def __init__(self, message: str, *, after_seconds: float = 30.0) -> None:
        super().__init__(message)
        self.after_seconds = after_seconds


class PermanentError(DeliveryError):
    """The chat cannot receive anything (blocked, kicked, channel gone): deactivate it."""


class RejectedError(DeliveryError):
    """This message was refused (bad request): fail the delivery but keep the subscription."""


class AmbiguousError(DeliveryError):
    """The send timed out after the request left: the platform may have delivered it."""


class ChatMovedError(DeliveryError):
    """The chat has a new id (a Telegram group became a supergroup)."""

    def __init__(self, message: str, *, new_chat_id: str) -> None:
        super().__init__(message)
        self.new_chat_id = new_chat_id


class InternalError(NkwatchError):
    """A bug: an exception nkwatch did not expect."""

    exit_code = EX_SOFTWARE


def one_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped (library messages often run on)."""
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())
    return text.strip()


def _database_error(exc: Exception, url: str | None) -> NkwatchError | None:
    from sqlalchemy.exc import DBAPIError  # noqa: PLC0415 - only when something failed
    from sqlalchemy.exc import OperationalError as SAOperationalError  # noqa: PLC0415

    if not isinstance(exc, DBAPIError):
        return None
    where = f" ({url})" if url else ""
    detail = one_line(str(exc.orig)) if exc.orig is not None else one_line(str(exc))
    if url and url.startswith("sqlite") and "unable to open database file" in detail:
        return DatabaseFileError(f"cannot open the SQLite database{where}: {detail}")
    if isinstance(exc, SAOperationalError) or exc.connection_invalidated:
        return DatabaseUnavailableError(f"database unavailable{where}: {detail}")
    return None


def as_nkwatch_error(exc: BaseException, *, database_url: str | None = None) -> NkwatchError:
    """``exc`` as a member of the tree: itself, a database error, or an internal error."""
    if isinstance(exc, NkwatchError):
        return exc
    if isinstance(exc, Exception):
        mapped = _database_error(exc, database_url)
        if mapped is not None:
            return mapped
    if isinstance(exc, OSError) and exc.filename is not None:
        return PlatformError(f"{exc.strerror or exc}: {os.fsdecode(exc.filename)}")
    return InternalError(f"internal error: {type(exc).__name__}: {one_line(str(exc))}")
