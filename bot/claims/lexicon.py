"""The lexicon: actors, weapons, places, units, number words and synonyms from config/lexicon.toml.

Aliases are compiled once into an index keyed by normalised word keys (spelling-fixed, stemmed),
so "multiple rocket launchers" and "multiple-launch rocket system" find their entry the same way
the search tokens do.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from bot.claims.normalize import raw_words, word_key
from bot.errors import ConfigError

EntityKind = Literal["actor", "weapon", "place", "synonym"]
_ID_RE = re.compile(r"^[a-z0-9]+$")

DEFAULT_LEXICON_PATH = Path(__file__).resolve().parents[1] / "config" / "lexicon.toml"


class LexiconError(ConfigError, ValueError):
    """The lexicon file is malformed; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What a phrase of the lexicon stands for: an entity id or a synonym group's canonical key."""

    kind: EntityKind
    ident: str
    token: str  # the search token emitted for the phrase


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Compiled, read-only lexicon; build it with :func:`load_lexicon` or :func:`parse_lexicon`."""

    phrases: Mapping[tuple[str, ...], Entry]
    units: Mapping[tuple[str, ...], str]
    max_unit: int
    numbers: Mapping[str, int]
    multipliers: Mapping[str, int]
    spelling: Mapping[str, str]
    entity_tokens: Mapping[str, str] = field(default_factory=dict)  # place id -> country token
    # first word -> lengths of the phrases it starts, longest first: most words start none,
    # so the tokenizer skips them with one dict look-up
    starts: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def lookup(self, keys: tuple[str, ...]) -> Entry | None:
        return self.phrases.get(keys)


def _keys(phrase: str, spelling: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(word_key(w, spelling) for w in raw_words(phrase))


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LexiconError(f"{where}: expected a list of non-empty strings")
    return list(value)


def parse_lexicon(data: Mapping[str, Any]) -> Lexicon:
    """Compile parsed TOML; raises LexiconError naming the first bad entry."""
    spelling_raw = data.get("spelling", {})
    if not isinstance(spelling_raw, dict):
        raise LexiconError("[spelling] must be a table")
    spelling = {str(k).lower(): str(v).lower() for k, v in spelling_raw.items()}

    phrases: dict[tuple[str, ...], Entry] = {}
    entity_tokens: dict[str, str] = {}
    for section, kind in (("actors", "actor"), ("weapons", "weapon"), ("places", "place")):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise LexiconError(f"[{section}] must be a table")
        for ident, spec in table.items():
            ident_l = str(ident).lower()
            if not _ID_RE.match(ident_l):
                raise LexiconError(f"{section}.{ident}: ids are letters and digits only")
            if not isinstance(spec, dict):
                raise LexiconError(f"{section}.{ident}: expected a table with `aliases`")
            aliases = _str_list(spec.get("aliases"), f"{section}.{ident}.aliases")
            token = str(spec.get("token", ident_l)).lower()
            if not _ID_RE.match(token):
                raise LexiconError(f"{section}.{ident}.token: letters and digits only")
            if token != ident_l:
                entity_tokens[ident_l] = token
            entry = Entry(kind=kind, ident=ident_l, token=token)  # type: ignore[arg-type]
            for alias in [ident_l, *aliases]:
                keys = _keys(alias, spelling)
                if keys and keys not in phrases:
                    phrases[keys] = entry

    seen_syn: dict[tuple[str, ...], int] = {}
    groups = data.get("synonyms", {}).get("groups", [])
    if not isinstance(groups, list):
        raise LexiconError("[synonyms] groups must be a list of lists")
    for i, group in enumerate(groups):
        members = _str_list(group, f"synonyms.groups[{i}]")
        canonical = "".join(_keys(members[0], spelling))
        entry = Entry(kind="synonym", ident=canonical, token=canonical)
        for member in members:
            keys = _keys(member, spelling)
            if not keys:
                continue
            if keys in seen_syn and seen_syn[keys] != i:
                raise LexiconError(
                    f"synonyms.groups[{i}]: {member!r} is already in group {seen_syn[keys]}"
                )
            seen_syn[keys] = i
            if keys not in phrases:  # entity aliases win over synonyms
                phrases[keys] = entry

    units: dict[tuple[str, ...], str] = {}
    units_raw = data.get("units", {})
    if not isinstance(units_raw, dict):
        raise LexiconError("[units] must be a table")
    for unit, aliases in units_raw.items():
        for alias in [str(unit), *_str_list(aliases, f"units.{unit}")]:
            keys = _keys(alias, spelling)
            if keys and keys not in units:
                units[keys] = str(unit)
    numbers = {str(k).lower(): int(v) for k, v in data.get("numbers", {}).items()}
    multipliers = {str(k).lower(): int(v) for k, v in data.get("multipliers", {}).items()}

    lengths: dict[str, set[int]] = {}
    for keys in phrases:
        lengths.setdefault(keys[0], set()).add(len(keys))
    return Lexicon(
        starts=MappingProxyType({k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}),
        phrases=MappingProxyType(phrases),
        units=MappingProxyType(units),
        max_unit=max((len(k) for k in units), default=1),
        numbers=MappingProxyType(numbers),
        multipliers=MappingProxyType(multipliers),
        spelling=MappingProxyType(spelling),
        entity_tokens=MappingProxyType(entity_tokens),
    )


def load_lexicon(path: Path = DEFAULT_LEXICON_PATH) -> Lexicon:
    """Read and compile a lexicon file (the one I/O function of the claim core)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{path}: {exc}") from exc
    return parse_lexicon(data)
