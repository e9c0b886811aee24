"""Run the workbook's notebooks with papermill, each in the kernel its metadata names.

The README's "run the workbook" command and the notebook tests share this code.

    python -m workbook.runner                  # every notebook, full mode, with HTML renders
    python -m workbook.runner --quick 01       # notebooks whose name starts with 01, quick mode

A failing notebook does not stop the others; the command exits non-zero and names it.

Kernels talk to papermill over IPC (Unix sockets whose files sit in ``build/kernels``), not TCP: a TCP kernel's
ports are picked free and bound a moment later, and a test worker that starts a server on a free port in that
moment takes one ("ZMQError: Address already in use", the kernel dies at start). Sockets named by file cannot
collide with ports, and no TCP port is open for the kernel at all.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.paths import build_dir, repo_root
from helpers.report import Table, write_json, write_report
from helpers.verify import NOTEBOOK_ENV
from workbook.reports import clear_parity_records, parity_records, replace_section, write_parity_report

__all__ = [
    "NotebookRun",
    "KernelNotFoundError",
    "discover_notebooks",
    "notebook_kernel",
    "notebook_requires",
    "notebook_facts",
    "unmet_needs",
    "execute_notebook",
    "run_workbook",
    "summary_table",
    "render_html",
    "offline_outputs",
    "notebook_lock",
    "ipc_kernel_manager",
    "environment_record",
    "main",
]



#: Longest path of a Unix socket file (sun_path is 108 bytes with its terminating zero).
_SOCKET_PATH_MAX = 107


def ipc_kernel_manager() -> type:
    """A jupyter_client ``AsyncKernelManager`` whose kernels use the ``ipc`` transport, with their connection and
    socket files in ``build/kernels`` (or a short temporary folder when that path is too long for a socket);
    papermill takes it as ``kernel_manager_class``."""
    import tempfile
    import uuid

    from jupyter_client import AsyncKernelManager

    folder = build_dir("kernels")
    if len(str(folder)) + len("/kernel-12345678-ipc-65535") > _SOCKET_PATH_MAX:
        folder = Path(tempfile.mkdtemp(prefix="wb-kernels-"))

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("connection_file", str(folder / f"kernel-{uuid.uuid4().hex[:8]}.json"))
            super().__init__(**kwargs)

    return IpcKernelManager


class KernelNotFoundError(RuntimeError):
    """The kernel a notebook names is not installed."""


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    notebook: str
    kernel: str
    seconds: float
    status: str  # "ok", "failed" or "skipped" (the machine lacks what metadata.workbook.needs names)
    output: Path | None = None
    html: Path | None = None
    cell_index: int | None = None  # 1-based among the notebook's own code cells
    error: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def describe(self) -> str:
        """One readable paragraph: which notebook, which cell, what went wrong, where the copy is."""
        if self.ok:
            return f"{self.notebook}: ok in {self.seconds:.1f} s"
        if self.status == "skipped":
            return f"{self.notebook}: skipped, {self.error}"
        where = f" in code cell {self.cell_index}" if self.cell_index is not None else ""
        kept = f"\nExecuted copy kept at {self.output}" if self.output else ""
        return f"{self.notebook} failed{where} ({self.kernel} kernel): {self.error}{kept}"


def discover_notebooks(folder: str | os.PathLike[str] | None = None, select: Iterable[str] = ()) -> list[Path]:
    """Numbered notebooks (``NN_topic.ipynb``) in order; ``select`` keeps names starting with any prefix."""
    folder = Path(folder) if folder else repo_root() / "notebooks"
    found = sorted(p for p in folder.glob("[0-9]*.ipynb") if not p.name.startswith("."))
    prefixes = [s.removesuffix(".ipynb") for s in select]
    if prefixes:
        found = [p for p in found if any(p.stem.startswith(s) for s in prefixes)]
        if not found:
            raise FileNotFoundError(f"No notebook in {folder} starts with {prefixes}.")
    return found


def _metadata(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")).get("metadata", {})


def notebook_kernel(path: str | os.PathLike[str]) -> str:
    """The kernel name in a notebook's metadata (``kernelspec.name``)."""
    name = _metadata(Path(path)).get("kernelspec", {}).get("name")
    if not name:
        raise KernelNotFoundError(
            f"{path} names no kernel in metadata.kernelspec.name; open it in JupyterLab, pick a "
            "workbook kernel and save, or add the metadata by hand."
        )
    return name


def notebook_facts(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A notebook's own facts, from ``metadata.workbook``: what runner, tests, slides and README read.

    Keys: ``tracks`` (workshop tracks it belongs to), ``minutes`` (a reader's time), ``requires``
    (notebooks whose outputs it reads), ``needs`` (what a machine must have, said to the reader when
    missing), ``tries`` (parameter sets the tests run it with; ``"low"``/``"high"`` stand for the ends of a
    parameter's stated range), ``untried`` (parameters the tests cannot try, with why), ``calls`` (regular
    expressions of the central calls its code cells must show), ``solution`` (a starter's reference notebook),
    ``readme`` (its row in README's notebook table: ``workbook.notebook_table``).
    """
    return dict(_metadata(Path(path)).get("workbook", {}))


def notebook_requires(path: str | os.PathLike[str]) -> list[str]:
    """The notebooks (stems) this one reads the outputs of, from ``metadata.workbook.requires``."""
    return list(_metadata(Path(path)).get("workbook", {}).get("requires", []))


def _kernel_installed(name: str) -> bool:
    try:
        _check_kernel(name)
    except KernelNotFoundError:
        return False
    return True


def unmet_needs(path: str | os.PathLike[str]) -> str | None:
    """What a notebook needs that this machine lacks, or None.

    A notebook whose kernel may be missing on purpose (the mlnet kernel needs Python 3.8) says what it
    needs in ``metadata.workbook.needs``. When its kernel, or the kernel of a notebook it requires, is
    not installed, the runner reports the notebook as skipped with that text instead of failing it.
    """
    path = Path(path)
    for nb in [path, *(path.parent / f"{stem}.ipynb" for stem in notebook_requires(path))]:
        needs = _metadata(nb).get("workbook", {}).get("needs") if nb.exists() else None
        if needs and not _kernel_installed(notebook_kernel(nb)):
            return needs
    return None


@contextlib.contextmanager
def notebook_lock(group: str, folder: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """Hold an exclusive file lock named ``group`` (under ``build/locks``) for the ``with`` block.

    The notebook tests take the lock of a notebook's dependency group, so notebooks that write
    or regenerate each other's outputs (``metadata.workbook.requires``) never run at the same
    time, whichever test worker they land on. pytest-xdist's ``--dist loadgroup`` also keeps them
    on one worker (with tests/xdist_loadgroup.py, which works around pytest-dev/pytest-xdist#1386);
    the lock holds even where it does not, e.g. with ``-p no:xdist`` runs in two terminals.
    """
    path = Path(folder) if folder else build_dir("locks")
    path.mkdir(parents=True, exist_ok=True)
    lock = path / f"{group}.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield lock
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_kernel(name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel as err:
        raise KernelNotFoundError(
            f"The Jupyter kernel {name!r} is not installed in this environment; run `make setup`, "
            "which creates and registers every kernel the notebooks need."
        ) from err


def execute_notebook(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    cell_timeout: int = 900,
    html: bool = False,
    solution: bool = True,
) -> NotebookRun:
    """Execute one notebook in its own kernel; never raises for a failing cell.

    out_dir: where the executed copy goes (default ``build/notebooks``); kept on failure.
    parameters: injected after the cell tagged ``parameters`` (``quick=True``: the notebook's quick mode).
    cell_timeout: seconds one cell may run before the notebook fails.
    html: also render the executed copy to ``<out_dir>/../html/<name>.html``.
    solution: run the notebook with its exercises solved: a starter whose metadata ``workbook.solution``
        names a reference notebook runs that one in its place, and a notebook with reference solutions in
        ``exercises/solutions/<name>.py`` runs with them in its gaps (helpers.exercises); the executed copy
        keeps the notebook's name. False runs the notebook as a reader gets it, gaps and all.
    """
    import papermill as pm

    path = Path(path)
    params = dict(parameters or {})
    out = Path(out_dir) if out_dir else build_dir("notebooks")
    out.mkdir(parents=True, exist_ok=True)
    output = out / path.name
    kernel = notebook_kernel(path)
    _check_kernel(kernel)
    source = _with_solutions(path) if solution else path
    (build_dir("results") / f"{path.stem}.json").unlink(missing_ok=True)  # no stale results
    clear_parity_records(path.stem)  # nor stale parity records: a run that records nothing must not pass
    env_before = {k: os.environ.get(k) for k in (NOTEBOOK_ENV,)}
    os.environ[NOTEBOOK_ENV] = path.stem
    start = time.perf_counter()
    run = NotebookRun(path.stem, kernel, 0.0, "ok", output=output, parameters=params)
    try:
        pm.execute_notebook(
            str(source), str(output), parameters=params, kernel_name=kernel, cwd=str(path.parent),
            progress_bar=False, execution_timeout=cell_timeout, log_output=False,
            kernel_manager_class=ipc_kernel_manager(),
        )
    except pm.PapermillExecutionError as err:
        run.status, run.cell_index = "failed", err.cell_index
        run.error = f"{err.ename}: {err.evalue}".strip()[:2000]
    except Exception as err:  # kernel death, timeout, bad notebook: still a readable failure
        run.status, run.error = "failed", f"{type(err).__name__}: {err}"[:2000]
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    run.seconds = time.perf_counter() - start
    if not run.ok and output.exists():
        run.cell_index, source = _failed_cell(output, run.cell_index)
        run.error = f"{run.error}\n  cell source: {source}" if source else run.error
    if html and output.exists():
        run.html = _render_html(output, out.parent / "html")
    return run


def _with_solutions(path: Path) -> Path:
    """The notebook to execute for ``path`` with its exercises solved (``path`` itself when it has none)."""
    reference = _metadata(path).get("workbook", {}).get("solution")
    if reference:
        return repo_root() / reference
    solutions = repo_root() / "exercises" / "solutions" / f"{path.stem}.py"
    if not solutions.exists():
        return path
    import nbformat

    from exercises import solutions_of, solved_notebook

    solved = solved_notebook(nbformat.read(path, as_version=4), solutions_of(solutions))
    target = build_dir("solved") / path.name
    nbformat.write(solved, target)
    return target


def _failed_cell(output: Path, fallback: int | None) -> tuple[int | None, str]:
    """The executed copy's first cell with an error: (number among code cells, first source lines)."""
    try:
        cells = json.loads(output.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return fallback, ""
    code = [c for c in cells if c.get("cell_type") == "code" and "injected-parameters" not in c["metadata"].get("tags", [])]
    for number, cell in enumerate(code, 1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            lines = "".join(cell["source"]).strip().splitlines()
            return number, " / ".join(lines[:2])[:200] + (" ..." if len(lines) > 2 else "")
    return fallback, ""


#: HTML that points at a server of the kernel (a Netron viewer, an IFrame): dead in a render opened later.
_LIVE_OBJECT = re.compile(r'<object\b[^>]*\bdata="https?://(?:127\.0\.0\.1|localhost)[:/][^"]*"[^>]*>(?P<fallback>.*?)</object>',
                          re.S)
_LIVE_IFRAME = re.compile(r'<iframe\b[^>]*\bsrc="https?://(?:127\.0\.0\.1|localhost)[:/][^"]*"[^>]*>.*?</iframe>', re.S)
_IFRAME_GONE = ('<p><em>A live viewer was here, served by the notebook\'s kernel; it does not outlive the kernel. '
                "Run the notebook to see it.</em></p>")


def offline_outputs(nb: Any) -> Any:
    """``nb`` (an nbformat node, edited in place) with each live viewer's HTML replaced by what outlives its kernel:
    a Netron view (``helpers.visualize.NetronView``) by its picture, an ``IFrame`` on 127.0.0.1 by a note."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is None:
                continue
            text = "".join(html) if isinstance(html, list) else html
            text = _LIVE_IFRAME.sub(_IFRAME_GONE, _LIVE_OBJECT.sub(lambda m: m["fallback"], text))
            output["data"]["text/html"] = text
    return nb


def render_html(notebook: Path, folder: Path) -> Path:
    """``folder/<stem>.html``: the executed ``notebook`` as one self-contained page that opens offline.

    JupyterLab's look without anything from a CDN (``workbook/templates/offline``), images embedded, and
    live viewers replaced by their pictures (:func:`offline_outputs`).
    """
    import nbformat
    from nbconvert import HTMLExporter

    folder.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(Path(__file__).parent / "templates")],
                            embed_images=True)
    body, _ = exporter.from_notebook_node(offline_outputs(nbformat.read(notebook, as_version=4)),
                                          resources={"metadata": {"path": str(notebook.parent)}})
    target = folder / f"{notebook.stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


def _render_html(notebook: Path, folder: Path) -> Path | None:
    try:
        return render_html(notebook, folder)
    except Exception as err:  # an HTML render must never fail the run
        print(f"warning: could not render {notebook.name} to HTML: {err}", file=sys.stderr)
        return None


def summary_table(runs: Sequence[NotebookRun]) -> Table:
    """Notebook, kernel, time and status for each run."""
    rows = [
        {"notebook": r.notebook, "kernel": r.kernel.removeprefix("onnx-workbook-"), "time (s)": round(r.seconds, 1),
         "status": "ok" if r.ok else r.error if r.status == "skipped"
         else f"FAILED (cell {r.cell_index})" if r.cell_index is not None else "FAILED"}
        for r in runs
    ]
    failed = [r.notebook for r in runs if r.failed]
    skipped = [r.notebook for r in runs if r.status == "skipped"]
    notes = [f"{len(runs) - len(failed) - len(skipped)} of {len(runs)} notebooks ran; "
             f"total {sum(r.seconds for r in runs):.0f} s."]
    if skipped:
        notes.append("Skipped (this machine lacks what they need): " + ", ".join(skipped))
    if failed:
        notes.append("Failed: " + ", ".join(failed))
    return Table(rows, title="Workbook run", notes=notes)


def run_workbook(
    notebooks: Sequence[Path],
    *,
    quick: bool = False,
    html: bool = True,
    cell_timeout: int = 900,
    progress: bool = True,
) -> list[NotebookRun]:
    """Execute ``notebooks`` in order into ``build/notebooks``; returns every run, failed ones included."""
    from tqdm.auto import tqdm

    runs = []
    bar = tqdm(notebooks, desc="notebooks", unit="nb", disable=not progress)
    for nb in bar:
        bar.set_postfix_str(nb.stem)
        needs = unmet_needs(nb)
        if needs:
            runs.append(NotebookRun(nb.stem, notebook_kernel(nb), 0.0, "skipped", error=f"needs {needs}"))
            bar.write(runs[-1].describe())
            continue
        try:
            run = execute_notebook(nb, parameters={"quick": quick} if quick else {}, cell_timeout=cell_timeout, html=html)
        except KernelNotFoundError as err:
            run = NotebookRun(nb.stem, "?", 0.0, "failed", error=str(err))
        runs.append(run)
        if run.failed:
            bar.write(run.describe())
    return runs


def environment_record() -> dict[str, object]:
    """The machine and, for each workbook kernel installed, its package versions (installed ones only).

    The runner writes it to ``build/reports/environment.json`` after a run, and the book shows it. A kernel
    whose Python cannot be asked is listed with the reason instead of versions.
    """
    import datetime as _dt

    from helpers.environment import installed_kernels, kernel_versions, machine_info

    kernels: dict[str, object] = {}
    for name, spec in installed_kernels().items():
        if not name.startswith("onnx-workbook-"):
            continue
        try:
            found = kernel_versions(name)
            kernels[name] = {"display_name": spec["display_name"],
                             "versions": {k: v for k, v in found.items() if v != "not installed"}}
        except Exception as err:  # a broken kernel must not hide the others
            kernels[name] = {"display_name": spec["display_name"], "error": f"{type(err).__name__}: {err}"[:300]}
    return {"recorded": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_info(),
            "kernels": kernels}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run notebooks, print the summary table, write reports; exit 1 if any failed."""
    parser = argparse.ArgumentParser(prog="python -m workbook.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("select", nargs="*", help="run only notebooks whose names start with these (e.g. 01 10_)")
    parser.add_argument("--quick", action="store_true", help="quick mode: shrink epochs and data, as the tests do")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML renders")
    parser.add_argument("--cell-timeout", type=int, default=900, help="seconds one cell may run (default 900)")
    parser.add_argument("--update-readme", action="store_true",
                        help="copy the parity table into README.md (between its parity markers)")
    args = parser.parse_args(argv)

    runs = run_workbook(discover_notebooks(select=args.select), quick=args.quick, html=not args.no_html,
                        cell_timeout=args.cell_timeout)
    table = summary_table(runs)
    print("\n" + table.to_text())
    reports = build_dir("reports")
    write_report("workbook-run", table.to_markdown(), [
        {"notebook": r.notebook, "kernel": r.kernel, "seconds": round(r.seconds, 2), "status": r.status,
         "cell_index": r.cell_index, "error": r.error, "output": r.output, "html": r.html} for r in runs
    ], reports)
    try:  # the machine and versions the run used, for the book (workbook.book); never fails the run
        write_json(reports / "environment.json", environment_record())
    except Exception as err:
        print(f"warning: could not record the environment: {err}", file=sys.stderr)
    if parity_records():
        md, _ = write_parity_report()
        print(f"\nParity report: {md}")
        if args.update_readme and replace_section(repo_root() / "README.md", "parity", md.read_text(encoding="utf-8")):
            print("Copied the parity table into README.md")
    failed = [r for r in runs if r.failed]
    for r in failed:
        print("\n" + r.describe(), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
