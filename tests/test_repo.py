"""House rules that keep the repository healthy: clean notebooks, agreeing pins, a complete README."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from workbook.runner import discover_notebooks

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = discover_notebooks()
KERNELS = {"onnx-workbook-main", "onnx-workbook-legacy", "onnx-workbook-mlnet"}
SOLUTION_NOTEBOOKS = sorted((ROOT / "exercises" / "solutions").glob("*.ipynb"))


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.rstrip("\\ ").strip()  # a hashed lock: "x==1 \\"
    return pins


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean_with_kernel_parameters_and_chapter_shape(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code), "store notebooks without outputs"
    assert nb["metadata"]["kernelspec"]["name"] in KERNELS
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    assert re.search(r"^quick\s*=\s*False", "".join(params[0]["source"]), re.M), "parameters define quick = False"
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith("# "), "the first cell is a markdown title"
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading in ("What you will learn", "Summary", "Try it yourself"):
        assert heading in text, f"missing section: {heading}"


def _claims_without_a_message(nb) -> list[str]:
    """The `assert` statements in a notebook's code cells that carry no message, as "cell N: source"."""
    from IPython.core.inputtransformer2 import TransformerManager

    found = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            source = TransformerManager().transform_cell("".join(cell["source"]))  # %magics become Python calls
            found += [f"cell {index}: {ast.get_source_segment(source, node)}" for node in ast.walk(ast.parse(source))
                      if isinstance(node, ast.Assert) and node.msg is None]
    return found


@pytest.mark.parametrize("path", [*NOTEBOOKS, *SOLUTION_NOTEBOOKS], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_claim_in_a_notebook_says_what_it_measured(path):
    bare = _claims_without_a_message(json.loads(path.read_text(encoding="utf-8")))
    assert not bare, f"{path.name}: give each claim a message with what it measured and what it needed: {bare}"


def test_a_claim_without_a_message_is_reported_with_its_cell():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("assert False  # prose, not code"),
        nbformat.v4.new_code_cell("best = %timeit -o -q pass\nassert best, f'timeit gave {best}'"),
        nbformat.v4.new_code_cell("x = 1\nif x:\n    assert x == 2\nassert x == 1, f'x is {x} (needed 1)'"),
    ])
    assert _claims_without_a_message(nb) == ["cell 2: assert x == 2"]


def test_environment_yml_pins_match_the_main_requirements():
    env_pins = _pins(re.findall(r"^\s*-\s+(\S+==\S+)", (ROOT / "environment.yml").read_text(), re.M))
    req_pins = _pins((ROOT / "requirements" / "main.txt").read_text().splitlines())
    assert env_pins == req_pins


def test_requirements_pin_every_package_exactly():
    for name in ("main.txt", "legacy.txt", "legacy-build.txt", "mlnet.txt", "mlnet-build.txt"):
        for line in (ROOT / "requirements" / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            assert not line or "==" in line, f"{name}: pin {line!r} with =="


def test_lock_files_agree_with_the_top_level_pins():
    for kernel in ("main", "legacy", "mlnet"):
        top = _pins((ROOT / "requirements" / f"{kernel}.txt").read_text().splitlines())
        lock = _pins((ROOT / "requirements" / f"{kernel}.lock.txt").read_text().splitlines())
        differ = {k: (v, lock.get(k)) for k, v in top.items() if (lock.get(k) or "").split("+")[0] != v}
        assert not differ, f"{kernel}.lock.txt disagrees with {kernel}.txt: {differ}; run scripts/lock.sh"


def _notebook_section(readme: str) -> str:
    return readme.split("<!-- notebooks:start -->\n", 1)[1].split("\n<!-- notebooks:end -->", 1)[0]


def test_readmes_notebook_table_is_the_one_the_notebooks_metadata_makes_and_ci_runs_its_test_command():
    from workbook.notebook_table import notebook_table

    readme = (ROOT / "README.md").read_text()
    assert _notebook_section(readme) == notebook_table(), "run python -m workbook.notebook_table"
    assert all(f"[{nb.name}](notebooks/{nb.name})" in readme for nb in NOTEBOOKS)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci


def test_the_notebook_table_check_fails_on_a_hand_edited_row_and_a_notebook_without_its_row(tmp_path):
    import nbformat

    from workbook.notebook_table import notebook_row, notebook_table

    edited = notebook_table().replace("| Start here |", "| Start here! |")
    assert _notebook_section(f"<!-- notebooks:start -->\n{edited}\n<!-- notebooks:end -->") != notebook_table()
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    del nb.metadata["workbook"]["readme"]["learn"]
    bare = tmp_path / NOTEBOOKS[0].name
    nbformat.write(nb, bare)
    with pytest.raises(ValueError, match=r"00_start_here.ipynb: metadata workbook.readme lacks \['learn'\]"):
        notebook_row(bare)


def test_times_from_two_runner_reports_land_in_the_notebooks_and_a_failed_or_missing_run_is_refused(tmp_path):
    import nbformat

    from workbook.notebook_table import notebook_row, set_times

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for nb in NOTEBOOKS[:2]:
        copy = nbformat.read(nb, as_version=4)
        copy.metadata["workbook"]["readme"]["time"] = "not measured"
        nbformat.write(copy, folder / nb.name)
    names = [nb.name for nb in NOTEBOOKS[:2]]

    def report(name, seconds, status="ok"):
        runs = [{"notebook": Path(nb).stem, "seconds": s, "status": st}  # the runner names notebooks by stem
                for nb, s, st in zip(names, seconds, status.split())]
        (tmp_path / name).write_text(json.dumps(runs))
        return tmp_path / name

    quick, full = report("quick.json", [3.4, 6.6], "ok ok"), report("full.json", [4.5, 901.0], "ok ok")
    assert set_times(quick, full, folder) == names
    assert "| 3 s / 4 s |" in notebook_row(folder / names[0]) and "| 7 s / 15 min |" in notebook_row(folder / names[1])
    assert nbformat.read(folder / names[1], as_version=4).cells == nbformat.read(NOTEBOOKS[1], as_version=4).cells
    assert set_times(quick, full, folder) == [], "unchanged times leave the notebooks alone"
    with pytest.raises(ValueError, match=r"did not pass"):
        set_times(quick, report("failed.json", [2.2, 7.0], "ok failed"), folder)
    with pytest.raises(ValueError, match=r"missing from"):
        set_times(quick, report("short.json", [2.2], "ok"), folder)


def test_without_python_38_setup_says_how_to_get_one_and_goes_on(tmp_path):
    import subprocess

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "find_python38.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout == ""
    assert "no Python 3.8 found" in out.stderr and "pyenv install 3.8" in out.stderr and "WORKBOOK_PYTHON38" in out.stderr
    assert 'mlnet_pid=""' in (ROOT / "scripts" / "setup.sh").read_text(), "setup carries on without the mlnet kernel"


def test_a_python_38_named_by_the_user_is_found(tmp_path):
    import subprocess

    fake = tmp_path / "python3.8"
    fake.write_text("#!/bin/sh\nexit 0\n")  # answers the version probe as a 3.8 would
    fake.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WORKBOOK_PYTHON38": str(fake)}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "find_python38.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == str(fake)
