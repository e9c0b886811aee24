"""helpers.parameters: a value outside a notebook's stated range fails at once, saying the range and why."""

from __future__ import annotations

import pytest

from helpers.parameters import check_parameter, notebook_parameters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": 17, "low": 18, "why": "use dynamo=False below 18"},
         r"^parameter p=17 is outside the supported range 18 and above: use dynamo=False below 18\.$"),
        ({"value": 600, "high": 512}, r"^parameter p=600 is outside the supported range 512 and below\.$"),
        ({"value": 0, "low": 1, "high": 8}, r"^parameter p=0 is outside the supported range 1 to 8\.$"),
        ({"value": "gpu", "choices": ("cpu",)}, r"^parameter p='gpu' is not one of 'cpu'\.$"),
        ({"value": True, "low": 0}, r"^parameter p=True must be a number\.$"),
        ({"value": "3", "low": 0}, r"^parameter p='3' must be a number\.$"),
    ],
)
def test_out_of_range_value_raises_naming_the_range_and_why(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_parameter("p", **kwargs)


@pytest.mark.parametrize("kwargs", [{"value": 18, "low": 18}, {"value": 8, "low": 1, "high": 8}, {"value": "cpu", "choices": ["cpu"]}])
def test_in_range_value_is_returned(kwargs):
    assert check_parameter("p", **kwargs) == kwargs["value"]


def test_parameters_cell_is_read_with_defaults():
    assert notebook_parameters("quick = False  # q\nopset = 18\nname = 'x'\nimport os\n") == {
        "quick": False, "opset": 18, "name": "x"}
