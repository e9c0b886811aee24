"""The scoring script's core (deploy/onnx_scoring.py): finding the model, checking requests, answering."""

from __future__ import annotations

import json
import time

import jsonschema
import numpy as np
import pytest
from onnx import TensorProto, helper

from tests.unit import endpoint_models as em

scoring = em.load_scoring()


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    em.save(em.two_input_model(), folder)
    return scoring.OnnxScorer(scoring.find_model(folder), max_batch=8)


@pytest.fixture(scope="module")
def fuzz_scorer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    em.save(em.fuzz_model(), folder)
    return scoring.OnnxScorer(scoring.find_model(folder), limits=scoring.Limits(max_batch=4, max_dim=16))


def scorer_for(model, tmp_path, **kwargs):
    return scoring.OnnxScorer(em.save(model, tmp_path), **kwargs)


def good(batch=2):
    return {"features": np.arange(batch * 3, dtype=float).reshape(batch, 3).tolist(),
            "count": [[i % 4] for i in range(batch)]}


# -- finding the model --------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["nested", "flat"])
def test_find_model_handles_the_registered_layout_and_a_flat_folder(tmp_path, layout):
    path = em.save(em.regression_model(), tmp_path, layout)
    assert scoring.find_model(tmp_path) == path


@pytest.mark.parametrize("make, match", [
    (lambda p: None, "AZUREML_MODEL_DIR is not set"),
    (lambda p: str(p / "nowhere"), r"The model folder '.*nowhere' \(AZUREML_MODEL_DIR\) does not exist"),
    (lambda p: str(p), r"No \*.onnx file in the model folder"),
])
def test_find_model_names_the_folder_when_the_model_is_missing(tmp_path, make, match):
    with pytest.raises(scoring.ModelNotFoundError, match=match):
        scoring.find_model(make(tmp_path))


def test_find_model_asks_which_file_when_there_are_several(tmp_path):
    em.save(em.regression_model(), tmp_path, "flat")
    em.save(em.regression_model(), tmp_path, "nested")
    with pytest.raises(scoring.ModelNotFoundError, match=r"Several \*.onnx files"):
        scoring.find_model(tmp_path)


def test_find_model_takes_a_file_name_when_there_are_several(tmp_path):
    flat = em.save(em.regression_model(), tmp_path, "flat")
    (tmp_path / "other.onnx").write_bytes(flat.read_bytes())
    assert scoring.find_model(tmp_path, "other.onnx") == tmp_path / "other.onnx"


@pytest.mark.parametrize("name, match", [
    ("*.onnx", r"No '\*.onnx' file"),  # a name, not a glob pattern: it matched both files before
    ("m?del.onnx", r"No 'm\?del.onnx' file"),
    ("toy/1/model.onnx", "must be a file name"),
    ("../model.onnx", "must be a file name"),
])
def test_model_file_is_a_name_not_a_pattern_or_a_path(tmp_path, name, match):
    em.save(em.regression_model(), tmp_path, "flat")
    em.save(em.regression_model(), tmp_path, "nested")
    with pytest.raises(scoring.ModelNotFoundError, match=match):
        scoring.find_model(tmp_path, name)


def test_a_missing_model_lists_a_bounded_folder(tmp_path):
    for i in range(100):
        (tmp_path / f"{'x' * 200}{i}.txt").write_text("")
    with pytest.raises(scoring.ModelNotFoundError) as info:
        scoring.find_model(tmp_path)
    assert len(str(info.value)) < 2500 and "and 80 more" in str(info.value)


# -- reading the model ----------------------------------------------------------------------------------
def test_scorer_reads_inputs_types_and_labels_from_the_model(scorer):
    assert [s.describe() for s in scorer.inputs] == ["features: float32[batch, 3]", "count: int64[batch, 1]"]
    assert scorer.labels == em.LABELS and scorer.outputs == ["scores"]


def test_default_limits_fit_the_model(scorer, fuzz_scorer):
    assert scorer.limits.max_elements == 8 * (3 + 1)  # max_batch examples of 3 features and 1 count
    assert scorer.limits.max_body_bytes == 32 * 8 * 4 + 65_536
    assert fuzz_scorer.limits.max_elements == 4 * (3 + 1 + 16)  # the free sequence axis at max_dim


@pytest.mark.parametrize("value_info, name", [
    (helper.make_tensor_value_info("x", TensorProto.BFLOAT16, ["batch", 2]), r"tensor\(bfloat16\)"),
    (helper.make_tensor_sequence_value_info("x", TensorProto.FLOAT, None), r"seq\(tensor\(float\)\)"),
    (None, r"map\(int64,tensor\(double\)\)"),
])
def test_input_types_json_cannot_carry_are_refused_at_load_by_name(tmp_path, value_info, name):
    model = em.identity_model(value_info=value_info) if value_info is not None else em.map_input_model()
    with pytest.raises(scoring.UnsupportedModelError, match=rf"Input 'x' has type {name}, which a JSON request"):
        scorer_for(model, tmp_path)


@pytest.mark.parametrize("shape", [[], None], ids=["scalar", "no-shape"])
def test_a_scalar_or_shapeless_input_is_refused_at_load(tmp_path, shape):
    model = em.identity_model(value_info=helper.make_tensor_value_info("x", TensorProto.FLOAT, shape))
    with pytest.raises(scoring.UnsupportedModelError, match="Input 'x' is a scalar or has no declared shape"):
        scorer_for(model, tmp_path)


def test_a_huge_declared_dimension_is_refused_at_load_without_allocating(tmp_path):
    model = em.identity_model(TensorProto.FLOAT, ["batch", 10**12])
    start = time.perf_counter()
    with pytest.raises(scoring.UnsupportedModelError,
                       match=r"One example of this model holds 1,000,000,000,000 elements .* over the request cap"):
        scorer_for(model, tmp_path)
    assert time.perf_counter() - start < 10
    with pytest.raises(ValueError, match="would hold 1,000,000,000,000 elements"):
        scoring.sample_inputs([scoring.InputSpec("x", np.float32, ("batch", 10**12))])


def test_a_large_fixed_input_is_served_without_an_example(tmp_path):
    scorer = scorer_for(em.identity_model(TensorProto.FLOAT, ["batch", 3, 120, 120]), tmp_path)  # 43,200 per image
    assert scorer.example() is None
    schema = scorer.input_schema()
    assert schema["example"] is None and "No example: one example holds more than 10,000 elements" in schema["description"]
    image = [[[0.5] * 120] * 120] * 3
    assert scorer.score({"x": [image]})["outputs"]["y"][0][2][119][119] == 0.5
    with pytest.raises(scoring.RequestError, match="too large to show"):
        scorer.parse([image])


def test_a_model_whose_example_exceeds_a_configured_cap_is_refused(tmp_path):
    with pytest.raises(scoring.UnsupportedModelError, match="over the request cap of 3 elements"):
        scorer_for(em.identity_model(TensorProto.FLOAT, ["batch", 4]), tmp_path, limits=scoring.Limits(max_elements=3))


def test_limits_come_from_the_environment():
    limits = scoring.Limits.from_env({"MAX_BATCH": "5", "MAX_ELEMENTS": "100", "MAX_DIM": "7", "MAX_STRING": "9",
                                      "MAX_BODY_BYTES": "1000"})
    assert limits == scoring.Limits(5, 100, 7, 9, 1000)
    with pytest.raises(ValueError, match="MAX_BATCH='lots' must be a whole number"):
        scoring.Limits.from_env({"MAX_BATCH": "lots"})
    with pytest.raises(ValueError, match="max_dim must be at least 1"):
        scoring.Limits(max_dim=0).check()


# -- answering ----------------------------------------------------------------------------------------
def test_a_good_request_gets_predictions_probabilities_labels_and_time(scorer):
    request = good(4)
    answer = scorer.score(request)
    scores = em.two_input_reference(request["features"], request["count"])
    assert answer["predictions"] == scores.argmax(1).tolist()
    assert answer["labels"] == [em.LABELS[p] for p in answer["predictions"]]
    probs = np.array(answer["probabilities"])
    assert probs.shape == (4, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    e = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(1, keepdims=True), atol=1e-5)
    assert answer["inference_ms"] > 0


def test_a_zipmap_classifier_answers_with_json_objects(tmp_path):
    pytest.importorskip("skl2onnx", reason="skl2onnx lives in the main kernel")
    model, X, clf = em.zipmap_model()
    scorer = scorer_for(model, tmp_path)
    answer = scorer.score({"X": X[:5].tolist()})
    assert answer["predictions"] == clf.predict(X[:5]).tolist()
    expected = clf.predict_proba(X[:5])
    assert [sorted(row) for row in answer["probabilities"]] == [[str(c) for c in clf.classes_]] * 5
    got = np.array([[row[str(c)] for c in clf.classes_] for row in answer["probabilities"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    json.dumps(answer, allow_nan=False)
    assert scorer.output_example()["probabilities"] == [{"0": 1.0}]
    jsonschema.validate(answer, scorer.output_schema())


def test_string_classes_are_predictions_the_schema_allows(tmp_path):
    pytest.importorskip("skl2onnx", reason="skl2onnx lives in the main kernel")
    model, X, clf = em.zipmap_model(classes=["cat", "dog", "fish"])
    scorer = scorer_for(model, tmp_path)
    answer = scorer.score({"X": X[:3].tolist()})
    assert answer["predictions"] == clf.predict(X[:3]).tolist() and set(answer["probabilities"][0]) == {"cat", "dog", "fish"}
    jsonschema.validate(answer, scorer.output_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**answer, "predictions": [0, 1, 2]}, scorer.output_schema())


def test_every_answer_kind_fits_its_schema(scorer, fuzz_scorer, tmp_path):
    regression = scorer_for(em.regression_model(), tmp_path)
    for s, request in ((scorer, good(3)), (fuzz_scorer, {"features": [[0.0] * 3], "count": [[1]], "tokens": [[1, 2]]}),
                       (regression, {"x": [[1.0, 2.0]]})):
        jsonschema.validate(s.score(request), s.output_schema())
        jsonschema.validate(s.output_example(), s.output_schema())


def test_a_model_without_classes_returns_its_raw_outputs(tmp_path):
    em.save(em.regression_model(), tmp_path)
    scorer = scoring.OnnxScorer(scoring.find_model(tmp_path))
    answer = scorer.score({"x": [[1.0, 2.0], [3.0, 4.0]]})
    assert answer["outputs"] == {"y": [6.0, 14.0]}
    assert set(scorer.output_example()) == {"outputs", "inference_ms"}


# -- numbers --------------------------------------------------------------------------------------------
def test_whole_number_floats_are_accepted_for_integer_inputs(scorer):
    request = good(2)
    request["count"] = [[1.0], [2.0]]
    assert len(scorer.score(request)["predictions"]) == 2
    assert scorer.parse(request)["count"].dtype == np.int64


@pytest.mark.parametrize("count, match", [
    ([[1e19], [1]], r"values must lie in \[-9223372036854775808, 9223372036854775807\] for int64"),  # wrapped before
    ([[-1e19], [1]], "values must lie in"),
    ([[2**63], [1]], "values must lie in"),
    ([[2**70], [1]], "values must lie in"),
    ([[-(2**63) - 1], [1]], "values must lie in"),
    ([[float(2**53 + 2)], [1]], r"beyond 2\*\*53 is not exact"),
    ([[0.5], [1.0]], r"expected integers \(int64\), got non-integer numbers"),
    ([[True], [False]], r"expected integers \(int64\), got true/false values"),
])
def test_integers_are_range_checked_before_the_cast(scorer, count, match):
    request = good(2)
    request["count"] = count
    with pytest.raises(scoring.RequestError, match=match):
        scorer.parse(request)


def test_extreme_int64_values_pass_exactly(scorer):
    request = good(2)
    request["count"] = [[2**63 - 1], [-(2**63)]]
    assert scorer.parse(request)["count"].ravel().tolist() == [2**63 - 1, -(2**63)]


# -- refusals ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, match", [
    (lambda r: r.pop("count"), r"missing input\(s\) \['count'\]; the model expects exactly \['features', 'count'\]"),
    (lambda r: r.update(extra=[[1]]), r"unknown input\(s\) \['extra'\]"),
    (lambda r: r.update(features=[0.0, 1.0, 2.0]), r"expected rank 2, got rank 1 with shape \[3\]\. Wrap a single"),
    (lambda r: r.update(features=[[0.0, 1.0]] * 2), r"axis 1 must have size 3, got 2"),
    (lambda r: r.update(features=[[0.0, 1.0, 2.0], [1.0]]), r"ragged \(rows of different lengths at axis 1\)"),
    (lambda r: r.update(features=[[[0.0], 1.0, 2.0]] * 2), "nested"),
    (lambda r: r.update(features=[["a", "b", "c"]] * 2), r"expected numbers \(float32\), got strings"),
    (lambda r: r.update(features=[[None, 1.0, 2.0]] * 2), r"expected numbers \(float32\), got mixed or null values"),
    (lambda r: r.update(features=[[float("nan"), 1.0, 2.0]] * 2), r"2 value\(s\) are NaN or infinite"),
    (lambda r: r.update(features=[[float("inf"), 1.0, 2.0]] * 2), r"2 value\(s\) are NaN or infinite"),
    (lambda r: r.update(features=[[1e39, 1.0, 2.0]] * 2), "overflow float32"),
    (lambda r: r.update(features=[], count=[]), "the batch is empty"),  # rank 2: unreachable before the walk
    (lambda r: r.update(count=[[1]] * 3), r"same batch size, got \{'features': 2, 'count': 3\}"),
    (lambda r: r.update(features="0,1,2"), "expected a nested JSON array, got str"),
    (lambda r: r.update(features=[[True, 1.0, 2.0]] * 2),
     r"input 'features' \(features: float32\[batch, 3\]\): expected numbers \(float32\), got true/false values among"),
    (lambda r: r.update(features=[[0, 1, False]] * 2), "got true/false values among them"),
    (lambda r: r.update(count=[[True], [1]]),
     r"input 'count' \(count: int64\[batch, 1\]\): expected numbers \(int64\), got true/false values among"),
])
def test_a_bad_request_is_refused_with_a_message_naming_what_was_expected(scorer, change, match):
    request = good(2)
    change(request)
    with pytest.raises(scoring.RequestError, match=match):
        scorer.score(request)


def test_one_example_without_the_batch_axis_gets_a_hint(tmp_path):
    scorer = scorer_for(em.identity_model(TensorProto.FLOAT, ["batch", 1, 2, 2]), tmp_path)
    with pytest.raises(scoring.RequestError, match="axis 1 must have size 1, got 2 .* wrap it in a list"):
        scorer.parse({"x": [[[0.0, 1.0], [2.0, 3.0]]]})


def test_inputs_must_be_an_object(scorer):
    with pytest.raises(scoring.RequestError, match="'inputs' must be a JSON object .* for example"):
        scorer.score([[0.0, 1.0, 2.0]])


def test_unknown_names_are_echoed_with_a_bound(scorer):
    request = good(2)
    request.update({f"{'k' * 10_000}{i}": [[1]] for i in range(1000)})
    with pytest.raises(scoring.RequestError) as info:
        scorer.parse(request)
    assert len(str(info.value)) < 600 and "and 995 more" in str(info.value)


# -- limits before work -----------------------------------------------------------------------------
def test_a_batch_over_the_limit_is_refused_with_413(scorer):
    with pytest.raises(scoring.RequestTooLarge, match="batch of 9 is over the limit of 8 .* split it"):
        scorer.score(good(9))


def test_a_huge_request_is_refused_before_anything_is_converted(scorer, monkeypatch):
    row = [0.0, 1.0, 2.0]
    huge = {"features": [row] * 1_000_000, "count": [[1]] * 1_000_000}  # shared rows: cheap to build

    def no_conversion(*args, **kwargs):
        raise AssertionError("the request was converted before its size was checked")

    monkeypatch.setattr(scoring.np, "asarray", no_conversion)
    start = time.perf_counter()
    with pytest.raises(scoring.RequestTooLarge, match="batch of 1000000 is over the limit of 8"):
        scorer.parse(huge)
    assert time.perf_counter() - start < 0.5  # the outer length, not a million rows, was looked at


def test_the_element_cap_counts_all_inputs(tmp_path):
    scorer = scorer_for(em.two_input_model(), tmp_path, limits=scoring.Limits(max_batch=8, max_elements=20))
    assert scorer.parse(good(4))  # 4 x 3 + 4 x 1 = 16 elements
    assert scorer.parse(good(5))  # 15 + 5 = 20: at the limit
    with pytest.raises(scoring.RequestTooLarge, match=r"'count'.*at least 24 elements so far, over the limit of 20 .*MAX_ELEMENTS"):
        scorer.parse(good(6))  # 18 + 6: the second input pushes past it
    with pytest.raises(scoring.RequestTooLarge, match=r"'features'.*at least 21 elements so far"):
        scorer.parse(good(7))  # the first input alone: 21


def test_a_free_sequence_axis_has_a_length_limit(fuzz_scorer):
    request = {"features": [[0.0, 0.0, 0.0]], "count": [[1]], "tokens": [[1] * 16]}
    assert fuzz_scorer.score(request)["predictions"]
    request["tokens"] = [[1] * 17]
    with pytest.raises(scoring.RequestTooLarge, match=r"axis 1 \(seq\) has length 17, over the limit of 16 \(MAX_DIM\)"):
        fuzz_scorer.parse(request)
    request["tokens"] = [[]]
    with pytest.raises(scoring.RequestError, match=r"axis 1 \(seq\) is empty"):
        fuzz_scorer.parse(request)


def test_strings_have_a_length_limit(tmp_path):
    model = em.identity_model(TensorProto.STRING, ["batch", 2])
    scorer = scorer_for(model, tmp_path, limits=scoring.Limits(max_string=5))
    assert scorer.score({"x": [["ab", "cde"]]})["outputs"] == {"y": [["ab", "cde"]]}
    with pytest.raises(scoring.RequestTooLarge, match="a string of 6 characters is over the limit of 5"):
        scorer.parse({"x": [["ab", "cdefgh"]]})
    with pytest.raises(scoring.RequestError, match="expected strings, got numbers"):
        scorer.parse({"x": [["ab", 1]]})


# -- the OpenAPI document -------------------------------------------------------------------------------
def test_the_schema_example_is_a_valid_request(scorer):
    example = scoring.sample_inputs(scorer.inputs)
    assert example == {"features": [[0.0, 0.0, 0.0]], "count": [[0]]}
    assert len(scorer.score(example)["predictions"]) == 1


def test_the_input_schema_states_lengths_ranges_and_names(fuzz_scorer):
    schema = fuzz_scorer.input_schema()
    assert schema["required"] == ["features", "count", "tokens"] and schema["additionalProperties"] is False
    tokens = schema["properties"]["tokens"]
    assert (tokens["minItems"], tokens["maxItems"]) == (1, 4)
    assert (tokens["items"]["minItems"], tokens["items"]["maxItems"]) == (1, 16)
    assert tokens["items"]["items"] == {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    features = schema["properties"]["features"]["items"]
    assert (features["minItems"], features["maxItems"]) == (3, 3) and features["items"]["maximum"] == pytest.approx(3.4028e38, rel=1e-4)
    assert fuzz_scorer.score(schema["example"])["predictions"]


# -- the validator helpers.runtime shares ----------------------------------------------------------------
def test_helpers_runtime_uses_this_validator():
    from helpers import runtime

    assert runtime.validate_inputs is scoring.validate_inputs and runtime.InputError is scoring.InputError
    assert issubclass(scoring.RequestError, runtime.InputError)


# -- score.py ------------------------------------------------------------------------------------------
def test_score_py_loads_the_model_once_and_not_at_import(tmp_path, monkeypatch):
    """The schema example used to open a second session when the script was imported."""
    pytest.importorskip("inference_schema", reason="the inference server lives in the main kernel")
    import importlib.util

    em.save(em.two_input_model(), tmp_path)
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    monkeypatch.delenv("MODEL_FILE", raising=False)
    loads = []

    class Counting(scoring.OnnxScorer):
        def __init__(self, *args, **kwargs):
            loads.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(scoring, "OnnxScorer", Counting)
    spec = importlib.util.spec_from_file_location("score_under_test", em.DEPLOY / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert loads == []
    module.init()
    assert len(loads) == 1 and module.scorer.describe()["inputs"] == ["features: float32[batch, 3]",
                                                                    "count: int64[batch, 1]"]


@pytest.mark.parametrize("value", [3.4e38, -3.4e38])
def test_an_output_the_model_cannot_represent_is_a_422_naming_it(tmp_path, value):
    """Legal float32 inputs near the type's limits overflow inside the model (y = 2 * x summed): NaN or infinity
    out, which the scorer refuses as UnscorableRequest (422), not as a model failure."""
    scorer = scorer_for(em.regression_model(), tmp_path)
    assert scorer.score({"x": [[1.0, 2.0]]})["outputs"] == {"y": [6.0]}
    with pytest.raises(scoring.UnscorableRequest, match=r"output 'y' holds 1 NaN or infinite value\(s\) of 1") as info:
        scorer.score({"x": [[value, value]]})
    assert info.value.status == 422 and isinstance(info.value, scoring.RequestError)


def test_a_conv_net_fed_float32_extremes_answers_422(tmp_path):
    """The digits CNN's shape of problem, built small: a convolution and a softmax over float32 extremes."""
    import onnx
    from onnx import numpy_helper

    weights = np.ones((2, 1, 3, 3), np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("ReduceMean", ["c"], ["logits"], axes=[2, 3], keepdims=0),
         helper.make_node("Softmax", ["logits"], ["probs"], axis=1)],
        "tiny_cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 4, 4])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    scorer = scorer_for(model, tmp_path)
    assert scorer.score({"image": [[[[0.5] * 4] * 4]]})["predictions"] == [0]
    extreme = [[[[3.4e38, -3.4e38, 3.4e38, 3.4e38]] * 4]]
    with pytest.raises(scoring.UnscorableRequest, match="output 'probs' holds 2 NaN or infinite"):
        scorer.score({"image": extreme})


def test_a_zipmap_probability_that_is_not_finite_is_a_422(tmp_path):
    pytest.importorskip("skl2onnx", reason="skl2onnx lives in the main kernel")
    scorer = scorer_for(em.zipmap_model()[0], tmp_path)
    with pytest.raises(scoring.UnscorableRequest, match="NaN or infinite"):
        scorer.check_outputs([np.array([0]), [{0: float("nan"), 1: 0.5}]])
