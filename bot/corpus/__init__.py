"""The bundled seed corpus: five scraped articles that start the knowledge base."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.corpus.cleaning import CleanedText, clean_page
from bot.errors import InternalError

CORPUS_DIR = Path(__file__).resolve().parent


class CorpusError(InternalError):
    """The manifest or a seed file is missing or malformed."""


@dataclass(frozen=True)
class SeedArticle:
    origin: str
    title: str
    outlet: str | None
    author: str | None
    published: datetime
    published_inferred: bool
    published_note: str
    raw_text: str
    cleaned: CleanedText

    @property
    def text(self) -> str:
        return self.cleaned.text

    @property
    def url(self) -> str:
        return f"seed:{self.origin}"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def load_seed_corpus(directory: Path = CORPUS_DIR) -> list[SeedArticle]:
    """Read and clean the seeds, oldest first (the order the knowledge base judges them in)."""
    manifest_path = directory / "manifest.toml"
    try:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read seed manifest {manifest_path}: {exc}"
        raise CorpusError(msg) from exc
    seeds: list[SeedArticle] = []
    for entry in manifest.get("article", []):
        origin = entry["origin"]
        path = directory / origin
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"seed file {path} listed in the manifest cannot be read: {exc}"
            raise CorpusError(msg) from exc
        published = datetime.fromisoformat(entry["published"])
        if published.tzinfo is None:
            msg = f"seed {origin}: published must carry a UTC offset"
            raise CorpusError(msg)
        seeds.append(
            SeedArticle(
                origin=origin,
                title=entry["title"],
                outlet=entry.get("outlet"),
                author=entry.get("author"),
                published=published,
                published_inferred=bool(entry.get("published_inferred", False)),
                published_note=entry.get("published_note", ""),
                raw_text=raw,
                cleaned=clean_page(raw, title=entry["title"], author=entry.get("author")),
            )
        )
    return sorted(seeds, key=lambda seed: seed.published)
