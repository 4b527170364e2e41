"""Build a stream's stories.jsonl and labels.jsonl from its hand-written source.txt.

The labels are written next to the words they label, so an edited story cannot drift from its
labels. source.txt holds stories separated by header lines:

    @@ s07 | a | Yonhap | 2023-10-16T08:00:00Z | Title of the story [| offtopic]

then the body: paragraphs separated by blank lines; each line of a paragraph is joined to the
previous one by a space, or by nothing when it starts with ``+`` (scrape damage such as
"on Monday.The ministry"). Inside a line ``{TAG|text}`` labels ``text``:

    n                  new
    x                  not a claim
    r:s03,seed:001     repeated (refs)
    u:s03:5,000>6,700  updated (refs, old > new)

and an optional ``#note`` ends the tag. Run: python eval/streams/build.py eval/streams/dev
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_LABEL = re.compile(r"\{([^|{}]+)\|([^{}]+)\}")
_NAMES = {"n": "new", "x": "not_claim", "r": "repeated", "u": "updated"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _label(story: str, tag: str, text: str) -> dict[str, object]:
    tag, _, note = tag.partition("#")
    kind, _, rest = tag.strip().partition(":")
    item: dict[str, object] = {"story": story, "text": text, "label": _NAMES[kind]}
    if kind == "u":
        rest, _, change = rest.rpartition(":")
        old, new = change.split(">")
        item["old"], item["new"] = old.strip(), new.strip()
    if kind in ("r", "u"):
        item["refs"] = [r.strip() for r in rest.split(",")]
    if note.strip():
        item["note"] = note.strip()
    return item


def build(source: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(stories, labels) from the source text."""
    stories: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    for block in re.split(r"^@@ ", source, flags=re.MULTILINE)[1:]:
        head, _, body = block.partition("\n")
        sid, feed, outlet, published, title, *flags = (p.strip() for p in head.split("|"))
        paragraphs: list[str] = []
        for para in re.split(r"\n\s*\n", body.strip()):
            text = ""
            for raw in para.splitlines():
                line = raw.strip()
                if not line or line.startswith("//"):
                    continue
                if line.startswith("+"):
                    text += line[1:]
                else:
                    text += (" " if text else "") + line
            if text:
                paragraphs.append(text)
        marked = "\n\n".join(paragraphs)
        plain = _LABEL.sub(lambda m: m.group(2), marked)
        for m in _LABEL.finditer(marked):
            labels.append(_label(sid, m.group(1), m.group(2)))
        stories.append(
            {
                "id": sid,
                "feed": feed,
                "outlet": outlet,
                "title": title,
                "url": f"https://news.example/{_slug(outlet)}/{published[:10]}/{sid}-{_slug(title)[:48]}",
                "published": published,
                "text": plain,
                **({"topic": "off"} if "offtopic" in flags else {}),
            }
        )
    return stories, labels


def main(directory: str) -> None:
    root = Path(directory)
    stories, labels = build((root / "source.txt").read_text(encoding="utf-8"))
    with (root / "stories.jsonl").open("w", encoding="utf-8") as out:
        for story in stories:
            out.write(json.dumps(story, ensure_ascii=False) + "\n")
    with (root / "labels.jsonl").open("w", encoding="utf-8") as out:
        for label in labels:
            out.write(json.dumps(label, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for label in labels:
        counts[str(label["label"])] = counts.get(str(label["label"]), 0) + 1
    words = [len(str(s["text"]).split()) for s in stories]
    print(
        f"{len(stories)} stories ({min(words)}-{max(words)} words), {len(labels)} labels: {counts}"
    )


if __name__ == "__main__":
    main(sys.argv[1])
