"""workbook.book: the executed workbook as a static site that reads without running anything (`make book`).

Built with Sphinx, myst-nb and the Furo theme from what the last `make workbook` left in ``build/``: the
executed notebooks (``build/notebooks``, outputs, plots and Netron pictures as they came out), the reports
(``build/reports/*.md``, with a report's PNG beside it), the workshop guide and the README, plus a page on
the machine and package versions of the run. Nothing is executed here (``nb_execution_mode = "off"``).
A notebook the run did not execute (skipped for a missing kernel, or not selected) still gets its page,
without outputs and marked as such, so every link between notebooks works.

Every page loads only files of the site: Furo bundles its CSS and JavaScript and uses the system's fonts,
math is shown as TeX source instead of through MathJax's CDN, widget and JavaScript outputs are dropped,
and an output that shows a live server of the notebook's kernel (a Netron viewer at 127.0.0.1) keeps only
its picture. Search is Sphinx's own (``searchindex.js``), so it works from a file share or GitHub Pages (from
``file://`` it lists the matching pages without excerpts: Chromium does not let such a page fetch the others).

    python -m workbook.book              # build/book/html from build/, then check it in headless Chromium
    python -m workbook.book --no-check   # build only

:func:`check_site` opens every page of a built site in headless Chromium (helpers.processes' Browser and
StaticServer on 127.0.0.1) and lists console errors, requests that leave the site, broken
internal links, anchors and images, and a search that finds nothing; tests/main/test_book.py runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from helpers.paths import build_dir, repo_root

__all__ = [
    "PARTS",
    "BookError",
    "BookBuild",
    "SiteCheck",
    "part_of",
    "stage_book",
    "build_book",
    "check_site",
    "main",
]

#: The workbook's parts, by the first digit of a notebook's number (``10_export_pytorch`` is in "Export").
PARTS = {"0": "Basics", "1": "Export", "2": "Visualize", "3": "Inference", "4": "Deploy", "5": "Capstone"}
#: Report pages in this order first (others follow by name); ``*_readme.md`` blocks are copies for README.
REPORT_ORDER = ("workbook-run", "parity", "benchmark")
REPORT_TITLES = {
    "workbook-run": "The last workbook run",
    "parity": "Parity: ONNX Runtime against each source framework",
    "benchmark": "Benchmark",
    "load": "Load test of the local endpoint",
    "spark_benchmark": "Spark batch scoring",
}
#: Where a linked repository file is copied into the site as a download; bigger ones lose their link.
MAX_LINKED_FILE_BYTES = 2_000_000
#: The search check's default term: every notebook says it.
SEARCH_TERM = "InferenceSession"

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_LOOPBACK_URL = re.compile(r"""(?:src|data|href)\s*=\s*["']?(https?://(?:127\.0\.0\.1|localhost|\[::1\])[:/][^"'\s>]*)""")
_MD_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(\s+\"[^\"]*\")?\)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class BookError(RuntimeError):
    """The book cannot be built (nothing executed yet, Sphinx missing or failing); the message says the fix."""


@dataclass
class BookBuild:
    """What :func:`build_book` made."""

    html: Path
    source: Path
    pages: list[str]
    notebooks: dict[str, str]  # stem -> "ok", "quick", "failed" or "not run"
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        counts: dict[str, int] = {}
        for status in self.notebooks.values():
            counts[status] = counts.get(status, 0) + 1
        how = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        return (f"Book: {len(self.pages)} pages ({len(self.notebooks)} notebooks: {how}) in {self.seconds:.1f} s, "
                f"{len(self.warnings)} Sphinx warnings -> {self.html / 'index.html'}")


@dataclass
class SiteCheck:
    """What :func:`check_site` found: the pages it opened and every problem, one readable line each."""

    pages: list[str]
    problems: list[str]
    search_hits: dict[str, int]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = (f"Opened {len(self.pages)} pages in headless Chromium in {self.seconds:.1f} s; search "
                + ", ".join(f"{t!r}: {n} pages" for t, n in self.search_hits.items()))
        if self.ok:
            return head + "; no console error, no request outside the site, no broken link or image."
        return head + f"; {len(self.problems)} problems:\n" + "\n".join(f"  {p}" for p in self.problems)


def part_of(stem: str) -> str:
    """The part a notebook belongs to, from its number: ``part_of("31_performance_tuning") == "Inference (3x)"``."""
    digit = stem[:1]
    return f"{PARTS.get(digit, f'Part {digit}')} ({digit}x)"


# --- staging: the Sphinx source tree, laid out like the repository -----------------------------------------
class _Stager:
    """Copies what the book shows into ``src``, mirroring the repository's layout so relative links hold."""

    def __init__(self, src: Path, root: Path) -> None:
        self.src, self.root = src, root
        self.docs: set[str] = set()  # repository-relative paths of the documents in the book
        self.copied: set[str] = set()

    def relink(self, text: str, origin: Path, doc_dir: Path) -> str:
        """Rewrite a markdown text's relative links: a document of the book stays a link, a repository file is
        copied into the site (a download), anything else (a folder, a missing file) keeps only its text."""

        def fix(m: re.Match[str]) -> str:
            bang, label, target, title = m.group(1), m.group(2), m.group(3), m.group(4) or ""
            if _SCHEME.match(target) or target.startswith("#"):
                return m.group(0)
            path, _, fragment = target.partition("#")
            resolved = (origin / unquote(path)).resolve()
            try:
                rel = resolved.relative_to(self.root).as_posix()
            except ValueError:
                return label if not bang else f"*{label}*"
            if rel not in self.docs:
                if not resolved.is_file() or resolved.stat().st_size > MAX_LINKED_FILE_BYTES:
                    return label if not bang else f"*{label}*"
                (self.src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(resolved, self.src / rel)
                self.copied.add(rel)
            new = os.path.relpath(self.src / rel, doc_dir)
            return f"{bang}[{label}]({new}{'#' + fragment if fragment else ''}{title})"

        return _MD_LINK.sub(fix, text)


def _clean_outputs(cell: dict[str, Any]) -> None:
    """Drop what cannot work in a static page: widgets, JavaScript, and HTML pointing at the kernel's servers."""
    kept = []
    for out in cell.get("outputs", []):
        data = out.get("data")
        if data is None:
            kept.append(out)
            continue
        if _WIDGET_MIME in data:  # a progress bar or widget: state lived in the kernel
            continue
        data.pop("application/javascript", None)
        html = data.get("text/html")
        html = "".join(html) if isinstance(html, list) else html
        live = _LOOPBACK_URL.search(html or "")
        if live:
            del data["text/html"]
            if set(data) <= {"text/plain"}:
                data.clear()
                data["text/markdown"] = (f"*A live view served by the notebook's kernel at `{live.group(1)}` "
                                         "while it ran; a static page cannot show it.*")
        kept.append(out)
    cell["outputs"] = kept


def _run_records(reports: Path) -> dict[str, dict[str, Any]]:
    path = reports / "workbook-run.json"
    if not path.exists():
        return {}
    try:
        return {r["notebook"]: r for r in json.loads(path.read_text(encoding="utf-8"))}
    except (ValueError, KeyError, TypeError):
        return {}


def _status_note(stem: str, executed: dict[str, Any] | None, record: dict[str, Any] | None) -> tuple[str, str]:
    """(status, MyST admonition) for a notebook's page."""
    if executed is None:
        why = f" ({record['error']})" if record and record.get("error") else ""
        return "not run", ("```{note}\nThe last `make workbook` did not execute this notebook" + why + ": this "
                           "page shows its code without outputs.\n```")
    paper = executed.get("metadata", {}).get("papermill", {})
    quick = bool(paper.get("parameters", {}).get("quick"))
    when = (paper.get("end_time") or paper.get("start_time") or "")[:16].replace("T", " ")
    took = f" in {paper['duration']:.0f} s" if isinstance(paper.get("duration"), int | float) else ""
    kernel = executed.get("metadata", {}).get("kernelspec", {}).get("display_name", "")
    failed = (record or {}).get("status") == "failed" or paper.get("exception")
    if failed:
        cell = (record or {}).get("cell_index")
        error = (record or {}).get("error", "").splitlines()[0:1]
        marker = "papermill-error-cell" in json.dumps(executed.get("cells", []))
        where = f"in code cell {cell}" if cell else "at a cell"
        where = f'<a href="#papermill-error-cell">{where}</a>' if marker else where  # papermill's raw-HTML anchor
        return "failed", ("```{warning}\nThis notebook **failed** in the last run, " + where
                          + (f": {error[0].rstrip('.')}" if error else "") + ". Its outputs stop there.\n```")
    mode = ("in **quick mode** (`quick=True`: less data, fewer epochs; numbers are smoke values)" if quick
            else "in full mode")
    return ("quick" if quick else "ok"), (f"```{{note}}\nExecuted by `make workbook` {mode}{took}"
                                          + (f", {when} UTC" if when else "") + (f", {kernel} kernel" if kernel else "")
                                          + ".\n```")


def _stage_notebook(stager: _Stager, source: Path, executed_path: Path | None, record: dict[str, Any] | None) -> str:
    import nbformat

    executed = json.loads(executed_path.read_text(encoding="utf-8")) if executed_path else None
    nb = executed if executed is not None else json.loads(source.read_text(encoding="utf-8"))
    status, note = _status_note(source.stem, executed, record)
    nb.get("metadata", {}).pop("widgets", None)
    doc_dir = stager.src / "notebooks"
    # papermill's red line at the top of a failed notebook; the banner says it, and links to the cell's marker
    nb["cells"] = [c for c in nb["cells"] if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])
                   or 'id="papermill-error-cell"' in "".join(c["source"])]
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = stager.relink(text, source.parent, doc_dir)
        elif cell["cell_type"] == "code":
            _clean_outputs(cell)
    banner = nbformat.v4.new_markdown_cell(note)
    banner.pop("id", None)
    at = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
    nb["cells"].insert(at, dict(banner))
    doc_dir.mkdir(parents=True, exist_ok=True)
    (doc_dir / source.name).write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    return status


def _stage_markdown(stager: _Stager, source: Path, target: Path, title: str | None = None) -> None:
    text = source.read_text(encoding="utf-8")
    if title and not re.match(r"\s*# ", text):
        text = f"# {title}\n\n{text}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(stager.relink(text, source.parent, target.parent), encoding="utf-8")


def _stage_reports(stager: _Stager, reports: Path) -> list[str]:
    found = [p for p in reports.glob("*.md") if not p.stem.endswith("_readme")] if reports.is_dir() else []
    order = {name: i for i, name in enumerate(REPORT_ORDER)}
    found.sort(key=lambda p: (order.get(p.stem, len(order)), p.stem))
    docs = []
    for md in found:
        title = REPORT_TITLES.get(md.stem, md.stem.replace("_", " ").replace("-", " ").capitalize())
        target = stager.src / "reports" / md.name
        _stage_markdown(stager, md, target, title)
        plot = md.with_suffix(".png")
        if plot.exists() and plot.name not in target.read_text(encoding="utf-8"):
            shutil.copy2(plot, target.parent / plot.name)
            with target.open("a", encoding="utf-8") as handle:
                handle.write(f"\n\n![The {title.lower()} as a plot]({plot.name})\n")
        docs.append(f"reports/{md.stem}")
    return docs


def _environment_page(reports: Path) -> str:
    from helpers.environment import package_versions
    from helpers.report import Table
    from workbook.runner import environment_record

    path = reports / "environment.json"
    if path.exists():
        record = json.loads(path.read_text(encoding="utf-8"))
        said = f"Recorded by the runner at the end of the last `make workbook` ({record.get('recorded', '?')})."
    else:
        record = environment_record()
        said = (f"The last run recorded none (an older runner), so this was read when the book was built "
                f"({record['recorded']}), on the machine that built it.")
    machine = record.get("machine", {})
    parts = ["# The machine and versions it ran on", "", said, "",
             Table([{"": k, "value": v} for k, v in machine.items()], title="Machine").to_markdown(), ""]
    for name, kernel in record.get("kernels", {}).items():
        title = f"{kernel.get('display_name', name)} (`{name}`)"
        if "error" in kernel:
            parts += [f"**{title}**", "", f"Could not be asked: {kernel['error']}", ""]
        else:
            rows = [{"package": k, "version": v} for k, v in kernel.get("versions", {}).items()]
            parts += [Table(rows, title=title).to_markdown(), ""]
    tools = package_versions(["sphinx", "myst-nb", "myst-parser", "furo", "docutils"])
    parts += ["The book was built with " + ", ".join(f"{k} {v}" for k, v in tools.items()) + "."]
    return "\n".join(parts) + "\n"


def _toctree(caption: str, docs: Iterable[str]) -> str:
    return "```{toctree}\n:caption: " + caption + "\n:maxdepth: 1\n\n" + "\n".join(docs) + "\n```\n"


def _index_page(parts: Mapping[str, list[str]], statuses: Mapping[str, str], reports: list[str],
                guides: list[str], record: dict[str, Any]) -> str:
    from workbook.slides import TRACK_TITLES, TRACKS, track_notebooks

    ran = sum(s in ("ok", "quick") for s in statuses.values())
    quick = sum(s == "quick" for s in statuses.values())
    failed = [n for n, s in statuses.items() if s == "failed"]
    missing = [n for n, s in statuses.items() if s == "not run"]
    machine = record.get("machine", {})
    facts = [f"{ran} of {len(statuses)} notebooks ran" + (f" ({quick} in quick mode)" if quick else "")]
    if failed:
        facts.append("failed: " + ", ".join(failed))
    if missing:
        facts.append("not executed (shown without outputs): " + ", ".join(missing))
    lines = [
        "# The ONNX workbook, executed", "",
        "Every notebook of the workbook with the outputs of its last run by `make workbook`: the printed checks, "
        "the plots and the Netron pictures, then the reports that run wrote, the workshop guide and the machine "
        "it ran on. The pages load nothing from outside this site, and search works offline.", "",
        "; ".join(facts) + ". " + (f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores "
                                   "([details](environment.md))." if machine else ""), "",
        "## Workshop tracks", "",
    ]
    stems = {Path(d).name for docs in parts.values() for d in docs}
    for track in TRACKS:
        chosen = [p.stem for p in track_notebooks(track) if p.stem in stems]
        links = " → ".join(f"[{s[:2]}](notebooks/{s}.ipynb)" for s in chosen)
        lines += [f"- **{TRACK_TITLES.get(track, track)}**: {links}"]
    lines += ["", "## Contents by part", ""]
    for caption, docs in parts.items():
        lines.append(_toctree(caption, docs))
    lines.append(_toctree("Reports", [*reports, "environment"]))
    if guides:
        lines.append(_toctree("Guides", guides))
    return "\n".join(lines)


_CONF = '''"""Sphinx configuration written by workbook.book (regenerated on every build: edit workbook/book.py)."""
from docutils import nodes

project = "ONNX workbook"
author = "the onnx-workbook contributors"
copyright = "the onnx-workbook contributors"
extensions = ["myst_nb", "sphinx.ext.githubpages"]  # githubpages: .nojekyll, so _static/ is served
html_theme = "furo"
html_title = "ONNX workbook, executed"
html_copy_source = False
html_show_sourcelink = False
html_static_path = []
nb_execution_mode = "off"       # the book shows what `make workbook` produced; it never runs a notebook
nb_ipywidgets_js = {}           # no require.js or widget manager from a CDN
nb_merge_streams = True
myst_heading_anchors = 3        # [text](#a-heading) links, as GitHub renders them
html_math_renderer = "workbook-tex"  # TeX shown as text: MathJax would load from a CDN
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]


def _inline(self, node):
    self.body.append('<code class="math notranslate">' + self.encode(node.astext()) + "</code>")
    raise nodes.SkipNode


def _block(self, node):
    self.body.append('<pre class="math notranslate">' + self.encode(node.astext()) + "</pre>")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("workbook-tex", (_inline, None), (_block, None))
'''


def stage_book(build: Path, src: Path, notebooks: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """Write the Sphinx source tree for ``build`` into ``src``; returns (notebook statuses, page names).

    Raises :class:`BookError` when ``build/notebooks`` holds no executed notebook.
    """
    from workbook.runner import discover_notebooks

    root = repo_root()
    notebooks = Path(notebooks) if notebooks else root / "notebooks"
    sources = discover_notebooks(notebooks)
    executed_dir = build / "notebooks"
    executed = {p.stem: p for p in executed_dir.glob("*.ipynb")} if executed_dir.is_dir() else {}
    if not any(s.stem in executed for s in sources):
        raise BookError(
            f"No executed notebook in {executed_dir}: the book shows the outputs of the last run, it does not run "
            "notebooks. Run `make workbook` first (every notebook, about an hour on 2 cores), or for a quick look "
            "`make workbook NOTEBOOKS=\"--quick 00 01 20\"`, then `make book`.")
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    stager = _Stager(src, root)
    stager.docs = {p.resolve().relative_to(root).as_posix() for p in sources}
    guides = {"workshop/README.md": "workshop/README", "README.md": "README"}
    stager.docs |= {g for g in guides if (root / g).exists()}
    reports = build / "reports"
    records = _run_records(reports)
    statuses: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for nb in sources:
        statuses[nb.stem] = _stage_notebook(stager, nb, executed.get(nb.stem), records.get(nb.stem))
        parts.setdefault(part_of(nb.stem), []).append(f"notebooks/{nb.stem}")
    guide_docs = []
    for rel, doc in guides.items():
        if (root / rel).exists():
            _stage_markdown(stager, root / rel, src / rel)
            guide_docs.append(doc)
    report_docs = _stage_reports(stager, reports)
    env_md = _environment_page(reports)
    (src / "environment.md").write_text(env_md, encoding="utf-8")
    record = json.loads((reports / "environment.json").read_text()) if (reports / "environment.json").exists() else {}
    (src / "index.md").write_text(_index_page(parts, statuses, report_docs, guide_docs, record), encoding="utf-8")
    (src / "conf.py").write_text(_CONF, encoding="utf-8")
    pages = ["index", *[d for docs in parts.values() for d in docs], *report_docs, "environment", *guide_docs]
    return statuses, pages


def build_book(build: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] | None = None, *,
               notebooks: str | os.PathLike[str] | None = None) -> BookBuild:
    """Stage and build the site: ``<out>/html`` (default ``build/book/html``) from ``build`` (default ``build/``).

    build: the folder `make workbook` filled (``notebooks/``, ``reports/``).
    out: where the Sphinx source (``src``), its cache (``doctrees``) and the site (``html``) go.
    notebooks: the repository's notebooks folder (the table of contents lists every notebook in it).
    """
    try:
        import furo  # noqa: F401
        import myst_nb  # noqa: F401
        import sphinx  # noqa: F401
    except ImportError as err:
        raise BookError(f"The book needs Sphinx, myst-nb and furo ({err}); run `make setup` (requirements/main.txt "
                        "pins them).") from err
    start = time.perf_counter()
    build = Path(build) if build else build_dir()
    out = Path(out) if out else build / "book"
    src, html, doctrees = out / "src", out / "html", out / "doctrees"
    statuses, pages = stage_book(build, src, Path(notebooks) if notebooks else None)
    for stale in (html, doctrees):
        if stale.exists():
            shutil.rmtree(stale)
    warnings_file = out / "sphinx-warnings.txt"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(doctrees), "-w", str(warnings_file),
           str(src), str(html)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=src)
    warnings = [w for w in warnings_file.read_text(encoding="utf-8").splitlines() if w.strip()] \
        if warnings_file.exists() else []
    if done.returncode != 0 or not (html / "index.html").exists():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BookError(f"sphinx-build failed (exit {done.returncode}); source in {src}:\n{tail}")
    return BookBuild(html, src, pages, statuses, time.perf_counter() - start, warnings)


# --- the check: every page in headless Chromium ----------------------------------------------------------
_COLLECT = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat(
       [...document.querySelectorAll('a[name]')].map(a => a.name)),
})"""
_SEARCH_DONE = ("document.querySelector('#search-results .search-summary') !== null && /Search finished|did not match/"
                ".test(document.querySelector('#search-results .search-summary').textContent)")  # Sphinx's own words
_SEARCH_HITS = "() => [...document.querySelectorAll('#search-results ul.search > li a')].map(a => a.href)"


def site_pages(html: Path) -> list[str]:
    """Every HTML page of a built site (``_static``, ``_images`` and other underscore folders excluded)."""
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not any(part.startswith("_") for part in p.relative_to(html).parts[:-1]))


def check_site(html: str | os.PathLike[str], search_terms: Sequence[str] = (SEARCH_TERM,), *,
               pages: Sequence[str] | None = None, timeout: float = 60.0) -> SiteCheck:
    """Open every page of the site at ``html`` in headless Chromium, served on 127.0.0.1; list what is wrong.

    A problem is: a console error or uncaught exception; a request to anything but the site's own server
    (a CDN script or font, a kernel's server); a request that fails or answers HTTP >= 400; a link to a page
    or file of the site that does not exist, or to an anchor the page lacks; an image that does not load;
    a search term with no result on ``search.html``. Links to other sites are not followed (offline).

    pages: open only these (paths under ``html``); default every page (:func:`site_pages`). Anchors are
        checked on the pages opened.
    """
    from helpers.processes import Browser, StaticServer

    start = time.perf_counter()
    root = Path(html).resolve()
    if not (root / "index.html").exists():
        raise BookError(f"No site at {root} (no index.html); build it first with `make book`.")
    pages = list(pages) if pages is not None else site_pages(root)
    problems: list[str] = []
    ids: dict[str, set[str]] = {}
    found: dict[str, dict[str, Any]] = {}
    hits: dict[str, int] = {}
    with StaticServer({"/": root}) as server, Browser() as driver:
        base = server.url

        def visit(rel: str, url: str, ready: str) -> tuple[Any, Any] | None:
            try:
                page = driver.open(url, ready=ready, timeout=timeout, width=1200, height=900)
            except RuntimeError as err:
                problems.append(f"{rel}: did not load: {err}")
                return None
            try:
                return page, page.evaluate(_COLLECT if ready.startswith("document.readyState") else _SEARCH_HITS)
            finally:
                page.close()
                outside = [u for u in page.requests
                           if not u.startswith(base) and urlparse(u).scheme not in ("data", "blob", "about")]
                problems.extend(f"{rel}: requested {u} (outside the site)" for u in dict.fromkeys(outside))
                problems.extend(f"{rel}: request failed: {f}" for f in page.failed
                                if f.startswith(base))
                problems.extend(f"{rel}: console {line}" for line in page.console
                                if line.startswith(("error:", "pageerror:")))

        for rel in pages:
            result = visit(rel, base + rel, "document.readyState === 'complete'")
            if result:
                found[rel] = result[1]
                ids[rel] = set(result[1]["ids"])
        for term in search_terms:
            result = visit(f"search.html?q={term}", base + "search.html?q=" + quote(term), _SEARCH_DONE)
            hits[term] = len(result[1]) if result else 0
            if result and not hits[term]:
                problems.append(f"search.html: searching {term!r} found nothing")
    for rel, data in found.items():
        for href in dict.fromkeys(data["links"]):
            if not href.startswith(base):
                continue
            path, _, fragment = href[len(base):].partition("#")
            target = unquote(path.split("?", 1)[0])
            target = target + "index.html" if target.endswith("/") or not target else target
            if not (root / target).is_file():
                problems.append(f"{rel}: broken link to {target}")
            elif fragment and target in ids and unquote(fragment) not in ids[target]:
                problems.append(f"{rel}: broken link to {target}#{fragment} (no such anchor)")
        for image in data["images"]:
            src = image["src"]
            local = src.startswith(base) and not (root / unquote(src[len(base):].split("?", 1)[0])).is_file()
            if local or not image["ok"]:
                problems.append(f"{rel}: broken image {src[:120]}")
    return SiteCheck(pages, list(dict.fromkeys(problems)), hits, time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m workbook.book [--no-check] [--out DIR] [--search TERM]``: build the book, then check it."""
    parser = argparse.ArgumentParser(prog="python -m workbook.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="where src/, doctrees/ and html/ go (default build/book)")
    parser.add_argument("--no-check", action="store_true", help="skip opening every page in headless Chromium")
    parser.add_argument("--search", action="append", default=None,
                        help=f"a term the site's search must find (default {SEARCH_TERM!r}; repeatable)")
    args = parser.parse_args(argv)
    try:
        book = build_book(out=args.out)
    except BookError as err:
        print(f"make book: {err}", file=sys.stderr)
        return 2
    print(book.describe())
    for warning in book.warnings[:10]:
        print("  sphinx:", warning)
    if args.no_check:
        return 0
    check = check_site(book.html, args.search or (SEARCH_TERM,))
    print(check.describe())
    if check.ok:
        print(f"Read it: open {book.html / 'index.html'} in a browser, or serve it with "
              f"`python -m http.server -d {book.html} -b 127.0.0.1 8000`.")
    return 0 if check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
