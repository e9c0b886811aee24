# Reference solutions of notebooks/00_start_here.ipynb's exercises, filled into the gaps by the runner.
# ruff: noqa: F821, E402 (the names come from the notebook; each cell imports what it adds)

# %% 0.1
main_versions = environment.package_versions(["numpy", "onnx", "onnxruntime"])
answer_0_1 = {name for name, version in main_versions.items() if legacy[name] != version}

# %% 0.2
import json

cells = json.loads(notebook_01.read_text(encoding="utf-8"))["cells"]
parameters_cell = next(cell for cell in cells if "parameters" in cell["metadata"].get("tags", []))
defaults = {}
exec("".join(parameters_cell["source"]), defaults)  # the cell only assigns literals
answer_0_2 = {name: value for name, value in defaults.items() if not name.startswith("__")}
