"""workbook.slides: a reveal.js deck per workshop track, made from the notebooks themselves.

Each notebook gives three slides: its title with the opening paragraph, its "What you will learn" list,
and its Summary. A deck opens with an agenda slide. reveal.js comes from the local npm copy pinned in
workshop/package.json (``npm ci --prefix workshop``), copied next to the decks: the folder works offline,
from a USB stick or a file share, with no CDN.

>>> from workbook.slides import TRACKS, track_notebooks
>>> [p.stem[:2] for p in track_notebooks("3h")]
['00', '01', '10', '30', '31', '32', '40', '50']

`make slides` (``python -m workbook.slides``) writes build/slides/<track>.html; tests/main/test_slides.py
opens them in headless Chromium and counts the slides.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from helpers.paths import build_dir, repo_root

__all__ = ["TRACKS", "Slide", "SlidesError", "track_notebooks", "notebook_slides", "reveal_dist", "build_deck",
           "build_slides", "SLIDES_PER_NOTEBOOK"]

#: The workshop tracks. Which notebooks belong to one is each notebook's own fact (``metadata.workbook.tracks``).
TRACKS = ("3h", "full-day")
TRACK_TITLES = {"3h": "ONNX in three hours", "full-day": "ONNX: the full day"}
#: Title, "What you will learn", Summary.
SLIDES_PER_NOTEBOOK = 3
#: The reveal.js files a deck loads, relative to the package's dist/ folder.
REVEAL_FILES = ("reset.css", "reveal.css", "theme/white.css", "reveal.js")


class SlidesError(ValueError):
    """A notebook lacks a part the slides are made of, or reveal.js is missing; the message says the fix."""


@dataclass(frozen=True)
class Slide:
    """One slide: its heading and its body (HTML)."""

    heading: str
    body_html: str
    source: str = ""  # the notebook it came from

    def to_html(self) -> str:
        note = f'<p class="source">{html.escape(self.source)}</p>' if self.source else ""
        return f"<section>\n<h2>{html.escape(self.heading)}</h2>\n{self.body_html}\n{note}\n</section>"


def track_notebooks(track: str, notebooks: Path | None = None) -> list[Path]:
    """The notebooks of a track, in teaching order.

    track: a key of :data:`TRACKS` ("3h" or "full-day").
    notebooks: the folder (default: the repository's notebooks/).
    """
    if track not in TRACKS:
        raise SlidesError(f"Unknown track {track!r}; choose one of {sorted(TRACKS)}.")
    from workbook.runner import notebook_facts

    folder = notebooks or repo_root() / "notebooks"
    chosen = [p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb")) if track in notebook_facts(p).get("tracks", [])]
    if not chosen:
        raise SlidesError(f"No notebook in {folder} names track {track!r} in its metadata (workbook.tracks).")
    return chosen


def _markdown(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text.strip())


def _section(cells: list[str], heading: str) -> str | None:
    """The markdown under `heading` (a `## ` heading or a bold `**...**` line) up to the next heading."""
    pattern = re.compile(rf"^(#+\s*|\*\*){re.escape(heading)}(\*\*)?:?\s*$", re.M | re.I)
    for text in cells:
        found = pattern.search(text)
        if found:
            rest = text[found.end():]
            end = re.search(r"^(#+\s|\*\*[^*\n]+:?\*\*)", rest, re.M)
            return (rest[:end.start()] if end else rest).strip()
    return None


def notebook_slides(path: Path) -> list[Slide]:
    """Three slides from a notebook: title and opening paragraph, "What you will learn", Summary.

    Raises :class:`SlidesError` naming the notebook and the missing part.
    """
    cells = ["".join(c["source"]) for c in json.loads(Path(path).read_text())["cells"] if c["cell_type"] == "markdown"]
    first = cells[0] if cells else ""
    title = re.match(r"#\s+(.+)", first)
    learn, summary = _section(cells, "What you will learn"), _section(cells, "Summary")
    for part, value in (("a `# Title` first cell", title), ("a **What you will learn** list", learn),
                        ("a `## Summary` section", summary)):
        if not value:
            raise SlidesError(f"{Path(path).name} lacks {part}; every notebook needs one (see tests/test_repo.py).")
    assert title and learn and summary  # for the type checker
    intro = first[title.end():].split("**What you will learn**")[0]
    intro_paragraph = next((p for p in re.split(r"\n\s*\n", intro) if p.strip()), "")
    name = Path(path).name
    return [
        Slide(title.group(1).replace("`", ""), _markdown(intro_paragraph), f"notebooks/{name}"),
        Slide("What you will learn", _markdown(learn), f"notebooks/{name}"),
        Slide("Summary", _markdown(summary), f"notebooks/{name}"),
    ]


def reveal_dist(workshop: Path | None = None) -> Path:
    """The local reveal.js dist/ folder (from ``npm ci --prefix workshop``), or a SlidesError with the fix."""
    dist = (workshop or repo_root() / "workshop") / "node_modules" / "reveal.js" / "dist"
    if not all((dist / f).is_file() for f in REVEAL_FILES):
        raise SlidesError(f"reveal.js is not installed in {dist.parent}: run `npm ci --prefix workshop` (needs "
                          "Node.js: apt-get install nodejs npm). The decks never load it from a CDN.")
    return dist


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="reveal.js/reset.css">
<link rel="stylesheet" href="reveal.js/reveal.css">
<link rel="stylesheet" href="reveal.js/theme/white.css">
<style>
.reveal {{ font-size: 26px; }}
.reveal section {{ text-align: left; }}
.reveal h1 {{ font-size: 1.7em; }} .reveal h2 {{ font-size: 1.25em; }}
.reveal ul, .reveal ol {{ display: block; }}
.reveal .source {{ font-size: 0.6em; color: #777; }}
</style>
</head>
<body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
<script src="reveal.js/reveal.js"></script>
<script>Reveal.initialize({{hash: true, width: 1280, height: 800, margin: 0.04, transition: 'none'}});</script>
</body>
</html>
"""


def build_deck(track: str, out: Path, notebooks: Path | None = None) -> tuple[Path, int]:
    """Write ``out/<track>.html`` for a track; return its path and its number of slides."""
    paths = track_notebooks(track, notebooks)
    # a long agenda flows into columns in a smaller type, so the first slide still fits the screen
    style = "" if len(paths) <= 10 else ' style="columns: 2; font-size: 0.5em"'
    agenda = f"<ol{style}>" + "".join(
        f"<li>{html.escape(notebook_slides(p)[0].heading)}</li>" for p in paths) + "</ol>"
    title = TRACK_TITLES.get(track, track)
    slides = [f'<section>\n<h1>{html.escape(title)}</h1>\n{agenda}\n</section>']
    for path in paths:
        slides += [slide.to_html() for slide in notebook_slides(path)]
    deck = out / f"{track}.html"
    deck.write_text(_PAGE.format(title=html.escape(title), slides="\n".join(slides)))
    return deck, len(slides)


def build_slides(out: Path | None = None, tracks: tuple[str, ...] = tuple(TRACKS),
                 notebooks: Path | None = None) -> dict[str, tuple[Path, int]]:
    """Build every track's deck into `out` (default build/slides) with reveal.js copied beside them."""
    dist = reveal_dist()
    out = out or build_dir("slides")
    out.mkdir(parents=True, exist_ok=True)
    for name in REVEAL_FILES:
        (out / "reveal.js" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(dist / name, out / "reveal.js" / name)
    shutil.copy(dist.parent / "LICENSE", out / "reveal.js" / "LICENSE")
    return {track: build_deck(track, out, notebooks) for track in tracks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a reveal.js deck per workshop track from the notebooks.")
    parser.add_argument("--track", choices=sorted(TRACKS), action="append", help="only this track (repeatable)")
    parser.add_argument("--out", type=Path, help="output folder (default build/slides)")
    args = parser.parse_args(argv)
    try:
        built = build_slides(args.out, tuple(args.track or TRACKS))
    except SlidesError as err:
        print(f"slides: {err}")
        return 1
    for track, (deck, count) in built.items():
        print(f"{track}: {count} slides -> {deck}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
