"""The scoring script's core (deploy/onnx_scoring.py): finding the model, checking requests, answering."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit import endpoint_models as em

scoring = em.load_scoring()


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    em.save(em.two_input_model(), folder)
    return scoring.OnnxScorer(scoring.find_model(folder), max_batch=8)


def good(batch=2):
    return {"features": np.arange(batch * 3, dtype=float).reshape(batch, 3).tolist(),
            "count": [[i % 4] for i in range(batch)]}


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
    with pytest.raises(scoring.ModelNotFoundError, match="Several .onnx files"):
        scoring.find_model(tmp_path)


def test_scorer_reads_inputs_types_and_labels_from_the_model(scorer):
    assert [s.describe() for s in scorer.inputs] == ["features: float32[batch, 3]", "count: int64[batch, 1]"]
    assert scorer.labels == em.LABELS and scorer.outputs == ["scores"]


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


def test_integral_floats_are_accepted_for_integer_inputs(scorer):
    request = good(2)
    request["count"] = [[1.0], [2.0]]
    assert len(scorer.score(request)["predictions"]) == 2


@pytest.mark.parametrize("change, match", [
    (lambda r: r.pop("count"), r"missing input\(s\) \['count'\]; the model expects exactly \['features', 'count'\]"),
    (lambda r: r.update(extra=[[1]]), r"unknown input\(s\) \['extra'\]"),
    (lambda r: r.update(features=[0.0, 1.0, 2.0]), r"expected rank 2, got rank 1 with shape \[3\]\. Wrap a single"),
    (lambda r: r.update(features=[[0.0, 1.0]] * 2), r"axis 1 must have size 3, got shape \[2, 2\]"),
    (lambda r: r.update(features=[[0.0, 1.0, 2.0], [1.0]]), "ragged"),
    (lambda r: r.update(features=[["a", "b", "c"]] * 2), r"expected numbers \(float32\), got strings"),
    (lambda r: r.update(features=[[None, 1.0, 2.0]] * 2), "expected numbers .* got mixed or null values"),
    (lambda r: r.update(features=[[float("nan"), 1.0, 2.0]] * 2), r"2 value\(s\) are NaN or infinite"),
    (lambda r: r.update(features=[[float("inf"), 1.0, 2.0]] * 2), "NaN or infinite"),
    (lambda r: r.update(features=[[1e39, 1.0, 2.0]] * 2), "overflow float32"),
    (lambda r: r.update(count=[[0.5], [1.0]]), r"expected integers \(int64\), got non-integer numbers"),
    (lambda r: r.update(count=[[2**70], [1]]), "expected integers|values must lie in"),
    (lambda r: r.update(features=[], count=[]), "expected rank 2|the batch is empty"),
    (lambda r: r.update(count=[[1]] * 3), r"same batch size, got \{'features': 2, 'count': 3\}"),
    (lambda r: r.update(features="0,1,2"), "expected a nested JSON array, got str"),
])
def test_a_bad_request_is_refused_with_a_message_naming_what_was_expected(scorer, change, match):
    request = good(2)
    change(request)
    with pytest.raises(scoring.RequestError, match=match):
        scorer.score(request)


def test_a_batch_over_the_limit_is_refused(scorer):
    with pytest.raises(scoring.RequestError, match="batch of 9 is over the limit of 8 .* split it"):
        scorer.score(good(9))


def test_inputs_must_be_an_object(scorer):
    with pytest.raises(scoring.RequestError, match="'inputs' must be a JSON object .* for example"):
        scorer.score([[0.0, 1.0, 2.0]])


def test_a_model_without_classes_returns_its_raw_outputs(tmp_path):
    em.save(em.regression_model(), tmp_path)
    scorer = scoring.OnnxScorer(scoring.find_model(tmp_path))
    answer = scorer.score({"x": [[1.0, 2.0], [3.0, 4.0]]})
    assert answer["outputs"] == {"y": [6.0, 14.0]}


def test_the_schema_example_is_a_valid_request(scorer):
    example = scoring.sample_inputs(scorer.inputs)
    assert example == {"features": [[0.0, 0.0, 0.0]], "count": [[0]]}
    assert len(scorer.score(example)["predictions"]) == 1


def test_find_model_takes_a_file_name_when_there_are_several(tmp_path):
    flat = em.save(em.regression_model(), tmp_path, "flat")
    (tmp_path / "other.onnx").write_bytes(flat.read_bytes())
    assert scoring.find_model(tmp_path, "other.onnx") == tmp_path / "other.onnx"
