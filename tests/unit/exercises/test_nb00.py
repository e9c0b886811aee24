"""Checks of notebooks/00_start_here.ipynb's exercises (exercises/nb00_start_here.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import numpy as np

import exercises

RNG = np.random.default_rng(0)


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


def test_0_1_and_0_2_refuse_wrong_sets_and_parameters(tmp_path):
    from helpers.environment import package_versions

    main = package_versions(["numpy", "onnx", "onnxruntime"])
    legacy = {"numpy": "1.23.5", "onnx": main["onnx"], "onnxruntime": main["onnxruntime"]}
    assert exercises.check("0.1", {"numpy"}, legacy=legacy)
    _refused("0.1", {"numpy", "onnx"}, "not this set", legacy=legacy)
    _refused("0.1", {"numpy", "torch"}, "drop ['torch']", legacy=legacy)
    _refused("0.1", "numpy", "set of package names", legacy=legacy)

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("quick = False  # q\nopset = 21  # o")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}  # as every notebook
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, path)
    assert exercises.check("0.2", {"quick": False, "opset": 21}, notebook=path)
    _refused("0.2", {"quick": False}, "names are not the parameters cell's", notebook=path)
    _refused("0.2", {"quick": "False", "opset": "21"}, "not strings", notebook=path)
    _refused("0.2", [("quick", False)], "answer a dict", notebook=path)




def test_0_1_refuses_the_guess_that_everything_differs():
    from helpers.environment import package_versions

    main = package_versions(["numpy", "onnx", "onnxruntime"])
    legacy = {"numpy": "1.23.5", "onnx": "1.18.0", "onnxruntime": main["onnxruntime"]}
    assert exercises.check("0.1", {"numpy", "onnx"}, legacy=legacy)
    _refused("0.1", {"numpy", "onnx", "onnxruntime"}, "not this set", legacy=legacy)
    _refused("0.1", set(), "not this set", legacy=legacy)
