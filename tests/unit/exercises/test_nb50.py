"""The capstone's checks refuse the shortcuts found in issue 20 (the others are fed wrong answers in
tests/test_exercises.py, beside the capstone's notebook tests)."""

from __future__ import annotations

import numpy as np
import pytest

import exercises


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, feedback.message


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """A scikit-learn pipeline on the wine data exported with skl2onnx, and its predict_proba on the test set."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from helpers.data import load_wine

    data = load_wine()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data.X_train, data.y_train)
    folder = tmp_path_factory.mktemp("wine")
    path = folder / "wine.onnx"
    path.write_bytes(to_onnx(model, initial_types=[("features", FloatTensorType([None, 13]))],
                             options={"zipmap": False}, target_opset=17).SerializeToString())
    renamed = folder / "wine_input_x.onnx"
    renamed.write_bytes(to_onnx(model, initial_types=[("X", FloatTensorType([None, 13]))],
                                options={"zipmap": False}, target_opset=17).SerializeToString())
    return data, model, path, renamed


def test_50_2_refuses_an_input_not_named_features(wine):
    data, _, _, renamed = wine
    _refused("50.2", renamed, "name it 'features'", X_test=data.X_test)


def test_50_5_accepts_the_pipeline_with_the_scaler_folded_into_the_coefficients(wine, tmp_path):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    data, model, path, _ = wine
    scaler, logistic = model[0], model[-1]
    folded = LogisticRegression()
    folded.classes_, folded.n_features_in_ = logistic.classes_, logistic.n_features_in_
    folded.coef_ = logistic.coef_ / scaler.scale_
    folded.intercept_ = logistic.intercept_ - folded.coef_ @ scaler.mean_
    (tmp_path / "folded.onnx").write_bytes(to_onnx(folded, initial_types=[("features", FloatTensorType([None, 13]))],
                                                   options={"zipmap": False}, target_opset=17).SerializeToString())
    assert exercises.check("50.5", tmp_path / "folded.onnx", onnx_path=path, X_test=data.X_test)


def test_50_5_refuses_onnx_runtimes_optimized_graph_of_ai_onnx_ml_operators_which_changes_nothing(wine, tmp_path):
    import onnxruntime as ort

    data, _, path, _ = wine
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    _refused("50.5", tmp_path / "optimized.onnx", "finds nothing to fuse", onnx_path=path, X_test=data.X_test)


def test_50_5_refuses_the_original_and_a_byte_copy(wine, tmp_path):
    data, _, path, _ = wine
    (tmp_path / "copy.onnx").write_bytes(path.read_bytes())
    for answer in (path, tmp_path / "copy.onnx"):
        _refused("50.5", answer, "not the original export", onnx_path=path, X_test=data.X_test)


def test_50_5_refuses_a_resaved_copy_that_is_neither_smaller_nor_changed(wine, tmp_path):
    import onnx

    data, _, path, _ = wine
    model = onnx.load(str(path))
    model.doc_string = "the same graph, saved again"
    onnx.save(model, tmp_path / "resaved.onnx")
    _refused("50.5", tmp_path / "resaved.onnx", "same operators as the original", onnx_path=path, X_test=data.X_test)


def _body(model, X):
    probabilities = model.predict_proba(X[:5])
    return {"predictions": probabilities.argmax(1).tolist(), "probabilities": probabilities.tolist(),
            "labels": [f"class_{i}" for i in probabilities.argmax(1)]}


def test_50_6_accepts_the_endpoints_whole_body(wine):
    data, model, path, _ = wine
    assert exercises.check("50.6", _body(model, data.X_test), onnx_path=path, X_test=data.X_test)


def test_50_6_refuses_predictions_computed_without_the_endpoint(wine):
    data, model, path, _ = wine
    made = {"predictions": model.predict(data.X_test[:5]).tolist()}
    _refused("50.6", made, "not predictions you computed", onnx_path=path, X_test=data.X_test)


def test_50_6_refuses_probabilities_that_are_not_the_models(wine):
    data, model, path, _ = wine
    body = _body(model, data.X_test)
    body["probabilities"] = np.full((5, 3), 1 / 3).tolist()
    _refused("50.6", body, "'probabilities' are not the model's", onnx_path=path, X_test=data.X_test)


class _Endpoint:
    """Answers as deploy/score.py does: 400 naming the problem, each reply with its own x-request-id."""

    def __init__(self):
        self.sent = 0

    def post(self, payload):
        from helpers.serve import Reply

        self.sent += 1
        row = payload["inputs"]["features"][0]
        message = "expected 13 features, got 12" if len(row) == 12 else "'oops' is not a number"
        return Reply(400, {"message": message}, {"x-request-id": f"id-{self.sent}"}, 1.0)


def _bad_rows(X):
    row = X[0].tolist()
    return {"inputs": {"features": [row[:12]]}}, {"inputs": {"features": [["oops", *row[1:]]]}}


def test_50_8_accepts_the_two_replies_the_endpoint_returned(wine):
    data, *_ = wine
    endpoint = _Endpoint()
    replies = [endpoint.post(p) for p in _bad_rows(data.X_test)]
    assert exercises.check("50.8", replies, endpoint=endpoint, X_test=data.X_test)


def test_50_8_refuses_status_codes_typed_from_memory(wine):
    data, *_ = wine
    endpoint = _Endpoint()
    _refused("50.8", (400, 400), "not status codes typed in", endpoint=endpoint, X_test=data.X_test)
    assert endpoint.sent == 0


def test_50_8_refuses_replies_made_by_hand_swapped_or_sent_once(wine):
    from helpers.serve import Reply

    data, *_ = wine
    endpoint = _Endpoint()
    short, string = (endpoint.post(p) for p in _bad_rows(data.X_test))
    ctx = {"endpoint": endpoint, "X_test": data.X_test}
    by_hand = [Reply(400, {"message": "bad row"}, {}, 0.0), Reply(400, {"message": "bad row"}, {}, 0.0)]
    _refused("50.8", by_hand, "each carries its own x-request-id", **ctx)
    _refused("50.8", [short, short], "each carries its own x-request-id", **ctx)
    _refused("50.8", [string, short], "reply to the row with 12 numbers is not the endpoint's answer", **ctx)
    accepted = Reply(200, {"predictions": [0]}, {"x-request-id": "x"}, 1.0)
    _refused("50.8", [accepted, string], "accepted (200)", **ctx)
