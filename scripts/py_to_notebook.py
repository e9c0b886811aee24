"""Turn a percent-format Python script into a clean workbook notebook (no outputs, kernel metadata).

Handy for writing a notebook in an editor, or for reviewing one as text:

    .venvs/main/bin/python scripts/py_to_notebook.py draft.py notebooks/12_export_sklearn.ipynb main
    .venvs/main/bin/python scripts/py_to_notebook.py draft.py notebooks/15_export_chainer.ipynb legacy
    .venvs/main/bin/python scripts/py_to_notebook.py draft.py notebooks/17_x.ipynb main 15_export_chainer,16_export_mxnet

Mark the parameters cell with ``# %% tags=["parameters"]``. The optional fourth argument lists the
notebooks whose outputs this one reads (metadata ``workbook.requires``).
"""

from __future__ import annotations

import sys

import jupytext
import nbformat

KERNELS = {
    "main": {"name": "onnx-workbook-main", "display_name": "ONNX workbook · main (PyTorch, TensorFlow, scikit-learn)", "language": "python"},
    "legacy": {"name": "onnx-workbook-legacy", "display_name": "ONNX workbook · legacy (Chainer, MXNet)", "language": "python"},
    "mlnet": {"name": "onnx-workbook-mlnet", "display_name": "ONNX workbook · mlnet (ML.NET via NimbusML, Python 3.8)", "language": "python"},
}
def build(src: str, out: str, kernel: str = "main", requires: tuple[str, ...] | list[str] = (), needs: str = "") -> None:
    """Write notebook ``out`` from percent-format script ``src``, for the given kernel.

    needs: what the notebook needs that a machine may lack (``metadata.workbook.needs``): the runner
    then reports it as skipped, saying so, where that kernel is missing.
    """
    nb = jupytext.read(src, fmt="py:percent")
    nb.metadata = {"kernelspec": KERNELS[kernel], "language_info": {"name": "python"}}
    if requires:
        nb.metadata["workbook"] = {"requires": list(requires)}
    if needs:
        nb.metadata.setdefault("workbook", {})["needs"] = needs
    for c in nb.cells:
        c.metadata.pop("lines_to_next_cell", None)
        if c.cell_type == "code":
            c.outputs = []
            c.execution_count = None
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, out)
if __name__ == "__main__":
    src, out = sys.argv[1], sys.argv[2]
    kernel = sys.argv[3] if len(sys.argv) > 3 else "main"
    req = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else []
    build(src, out, kernel, req, needs=sys.argv[5] if len(sys.argv) > 5 else "")
    print("wrote", out)
