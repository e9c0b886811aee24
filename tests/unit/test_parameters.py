"""helpers.parameters: a value outside a notebook's stated range fails at once, saying the range and why."""

from __future__ import annotations

import pytest

from helpers.parameters import Declared, check_parameter, declared_parameters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": 0, "low": 1, "high": 8, "why": "cores"}, r"^parameter p=0 is outside the supported range 1 to 8 \(cores\)\.$"),
        ({"value": True, "low": 0, "high": 1}, r"^parameter p=True must be a number"),
        ({"value": "3", "low": 0, "high": 9}, r"^parameter p='3' must be a number"),
    ],
)
def test_out_of_range_value_raises_naming_the_range_and_why(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_parameter("p", **kwargs)


@pytest.mark.parametrize("kwargs", [{"value": 18, "low": 18, "high": 20}, {"value": 8, "low": 1, "high": 8}])
def test_in_range_value_is_returned(kwargs):
    assert check_parameter("p", **kwargs) == kwargs["value"]


@pytest.mark.parametrize(
    ("help", "kind", "ends"),
    [
        ("epochs in full mode: 1 to 100 (more only costs time)", "range", [1, 100]),
        ("share of labels: 0.5 to 1.0", "range", [0.5, 1.0]),
        ("rows: 2_000 to 2_000_000", "range", [2000, 2000000]),
        ("True or False: quick mode", "bool", [True, False]),
        ('the mode: "Stable" or "Experimental" (Stable: released operators)', "choices", ["Stable", "Experimental"]),
        ('one of "a", "b" or "c"', "choices", ["a", "b", "c"]),
        ('matching r"[a-z]{3}" (three letters)', "pattern", []),
    ],
)
def test_a_comment_states_its_range_in_one_of_the_known_forms(help, kind, ends):
    declared = Declared.parse("p", None, help)
    assert (declared.kind, list(declared.bounds()) if kind == "range" else list(declared.choices)) == (kind, ends)


def test_a_comment_without_a_range_is_refused_with_the_forms_to_use():
    with pytest.raises(ValueError, match="states no range: write one of `1 to 100`"):
        Declared.parse("p", 3, "how many")


def test_each_form_refuses_what_it_does_not_allow():
    cases = [("1 to 10", 11), ("1 to 10", "5"), ("True or False", 1), ('"a" or "b"', "c"), ('matching r"[a-z]+"', "A1")]
    for help, bad in cases:
        with pytest.raises(ValueError, match=r"^parameter p="):
            Declared.parse("p", None, help).check(bad)


def test_the_cores_bound_is_this_machine(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert Declared.parse("threads", 2, "threads: 1 to the cores").bounds() == (1, 6)


def test_declared_parameters_agree_with_papermill_inspect_notebook():
    """papermill reads the same cell (its --help-notebook); our reader adds only the range."""
    papermill = pytest.importorskip("papermill")
    from workbook.runner import discover_notebooks

    for nb in discover_notebooks():
        ours = declared_parameters(nb)
        theirs = papermill.inspect_notebook(str(nb))
        assert set(ours) == set(theirs), nb.stem
        assert all(ours[n].help == theirs[n]["help"] for n in ours), nb.stem
