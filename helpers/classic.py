"""Classic machine learning for the export notebooks: scikit-learn, gradient boosting, CoreML.

Shared by notebooks/12_export_sklearn.ipynb (the churn pipeline and its ONNX inputs),
notebooks/13_export_boosting.ipynb (one-hot churn features, measuring how often float32
rounding flips a tree split) and notebooks/14_export_coreml_libsvm.ipynb (CoreML models
built with coremltools' own builders). The conversions themselves are written out in the
notebooks.

>>> import numpy as np
>>> rows_outside_tolerance(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
0.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "churn_pipeline",
    "churn_categories",
    "churn_matrix",
    "per_column_inputs",
    "rows_outside_tolerance",
    "tree_parity",
    "split_thresholds",
    "share_on_thresholds",
    "split_disagreements",
    "framework_outputs",
    "coreml_glm_regressor",
    "coreml_scaler",
    "coreml_glm_classifier",
    "coreml_pipeline_regressor",
]


# --- scikit-learn ---------------------------------------------------------------------------------

def churn_pipeline(classifier: Any = None) -> Any:
    """The churn model: scale the numeric columns, one-hot encode the categorical ones, classify.

    classifier: any scikit-learn classifier with ``predict_proba``
        (default ``LogisticRegression(max_iter=1000)``).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from helpers.data import CHURN_CATEGORICAL, CHURN_NUMERIC

    prepare = ColumnTransformer([
        ("numeric", StandardScaler(), list(CHURN_NUMERIC)),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), list(CHURN_CATEGORICAL)),
    ])
    return Pipeline([("prepare", prepare), ("classifier", classifier or LogisticRegression(max_iter=1000))])


def per_column_inputs(frame: Any) -> tuple[list[tuple[str, Any]], dict[str, np.ndarray]]:
    """skl2onnx input types and the matching ONNX Runtime feed, one named input per column.

    Numeric columns become ``float[N, 1]``, text columns ``string[N, 1]``; the
    names are the column names, which is how skl2onnx matches a
    ``ColumnTransformer``'s columns to the ONNX inputs.
    """
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    if not hasattr(frame, "columns"):
        raise TypeError(f"Expected a pandas DataFrame, got {type(frame).__name__}; one input per column needs names.")
    types, feed = [], {}
    for col in frame.columns:
        values = frame[col].to_numpy()
        if values.dtype.kind in "fiub":
            types.append((col, FloatTensorType([None, 1])))
            feed[col] = values.astype(np.float32).reshape(-1, 1)
        else:
            types.append((col, StringTensorType([None, 1])))
            feed[col] = values.astype(str).astype(object).reshape(-1, 1)
    return types, feed


# --- gradient boosting ----------------------------------------------------------------------------

def churn_categories(frame: Any) -> dict[str, list[str]]:
    """The sorted categories of each categorical churn column, as seen in ``frame`` (the training set)."""
    from helpers.data import CHURN_CATEGORICAL

    return {col: sorted(set(frame[col])) for col in CHURN_CATEGORICAL}


def churn_matrix(frame: Any, categories: Mapping[str, Sequence[str]]) -> tuple[np.ndarray, list[str]]:
    """The churn table as one float32 matrix for tree libraries: numeric columns, then one-hot columns.

    categories: from :func:`churn_categories` on the training set, so train and
        test get the same columns (an unseen category gives all zeros).
    Returns the matrix and its column names.
    """
    from helpers.data import CHURN_NUMERIC

    blocks = [frame[list(CHURN_NUMERIC)].to_numpy(np.float32)]
    names = list(CHURN_NUMERIC)
    for col, cats in categories.items():
        values = frame[col].to_numpy().astype(str)
        blocks.append((values[:, None] == np.asarray(cats, dtype=str)[None, :]).astype(np.float32))
        names += [f"{col}={c}" for c in cats]
    return np.hstack(blocks), names


def rows_outside_tolerance(expected: Any, actual: Any, rtol: float = 1e-4, atol: float = 1e-5) -> float:
    """The share of rows with at least one value outside ``np.isclose(actual, expected, rtol, atol)``.

    >>> rows_outside_tolerance(np.zeros((4, 2)), np.array([[0, 0], [0, 1], [0, 0], [0, 0]]))
    0.25
    """
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    if e.size != a.size:
        raise ValueError(f"expected has {e.size} values, actual {a.size}; compare outputs of the same rows.")
    a = a.reshape(e.shape)
    close = np.isclose(a, e, rtol=rtol, atol=atol)
    return float(np.mean(~close.reshape(len(e), -1).all(axis=1))) if e.ndim else float(not close)


def tree_parity(expected: Any, actual: Any, expected_labels: Any = None, actual_labels: Any = None,
                rtol: float = 1e-4, atol: float = 1e-5) -> dict[str, Any]:
    """How a tree model's ONNX outputs differ from the framework's: rows outside tolerance, max error, labels.

    expected, actual: probabilities (N, classes; a ZipMap list of dicts is fine)
        or predictions (N,).
    expected_labels, actual_labels: labels, for classifiers.
    """
    e = np.asarray(_plain(expected), dtype=np.float64)
    a = np.asarray(_plain(actual), dtype=np.float64).reshape(e.shape)
    out: dict[str, Any] = {
        "rows": len(e),
        "rows_outside_tolerance": rows_outside_tolerance(e, a, rtol, atol),
        "max_abs_err": float(np.abs(e - a).max()) if e.size else 0.0,
    }
    if expected_labels is not None and actual_labels is not None:
        le, la = np.asarray(expected_labels).ravel(), np.asarray(actual_labels).ravel()
        out["label_agreement"] = float(np.mean(le.astype(str) == la.astype(str)))
    return out


def _plain(values: Any) -> Any:
    """A ZipMap output (a list of ``{class: probability}`` dicts) as rows in sorted class order."""
    if isinstance(values, list) and values and isinstance(values[0], Mapping):
        keys = sorted(values[0])
        return [[row[k] for k in keys] for row in values]
    return values


def split_thresholds(model: Any) -> dict[int, np.ndarray]:
    """The split thresholds of an XGBoost or LightGBM model, by feature index.

    model: a fitted ``XGBModel`` or ``LGBMModel`` (scikit-learn API).
    """
    if hasattr(model, "get_booster"):
        frame = model.get_booster().trees_to_dataframe()
        frame = frame[frame["Feature"] != "Leaf"]
        feature = frame["Feature"].str.lstrip("f").astype(int)
        values = frame["Split"].to_numpy(np.float64)
    elif hasattr(model, "booster_"):
        frame = model.booster_.trees_to_dataframe()
        frame = frame[frame["split_feature"].notna()]
        names = list(model.booster_.feature_name())
        feature = frame["split_feature"].map(names.index)
        values = frame["threshold"].to_numpy(np.float64)
    else:
        raise TypeError(f"Expected a fitted XGBoost or LightGBM model, got {type(model).__name__}.")
    feature = np.asarray(feature)
    return {int(f): np.unique(values[feature == f]) for f in np.unique(feature)}


def share_on_thresholds(X: np.ndarray, thresholds: Mapping[int, np.ndarray]) -> float:
    """The share of rows with at least one feature value exactly equal to one of its split thresholds.

    Such a value decides its split by ``<`` against an equal number: a change in
    the last bit (float64 arithmetic rounded to float32, or the other way round)
    sends the row down the other branch.
    """
    X = np.asarray(X, dtype=np.float32)
    on = np.zeros(len(X), dtype=bool)
    for feature, values in thresholds.items():
        on |= np.isin(X[:, feature], np.asarray(values, dtype=np.float32))
    return float(on.mean())


def split_disagreements(X_a: np.ndarray, thresholds_a: Mapping[int, np.ndarray], X_b: np.ndarray,
                        thresholds_b: Mapping[int, np.ndarray], strict: bool = True) -> float:
    """The share of rows for which at least one split of the model decides differently in two precisions.

    X_a, thresholds_a: the features and thresholds as the framework compares them.
    X_b, thresholds_b: the same as ONNX Runtime compares them (e.g. float32 features
        computed in float32, thresholds rounded to float32); same keys and order.
    strict: the split rule, ``x < t`` (XGBoost) or, when False, ``x <= t`` (LightGBM).
    Counts every split in the model, not only those on a row's path, so it is the
    share of rows *at risk*; the rows that really change are at most these.
    """
    if set(thresholds_a) != set(thresholds_b):
        raise ValueError("thresholds_a and thresholds_b must cover the same features; build both from one model.")
    X_a, X_b = np.asarray(X_a), np.asarray(X_b)
    if X_a.shape != X_b.shape:
        raise ValueError(f"X_a has shape {X_a.shape} but X_b {X_b.shape}; pass the same rows in both precisions.")
    differ = np.zeros(len(X_a), dtype=bool)
    for f, t_a in thresholds_a.items():
        t_a, t_b = np.asarray(t_a), np.asarray(thresholds_b[f])
        a = X_a[:, [f]] < t_a[None, :] if strict else X_a[:, [f]] <= t_a[None, :]
        b = X_b[:, [f]] < t_b[None, :] if strict else X_b[:, [f]] <= t_b[None, :]
        differ |= (a != b).any(axis=1)
    return float(differ.mean())


# --- CoreML, built with coremltools' own builders ----------------------------------------------------

def _coremltools() -> Any:
    """coremltools, loaded without TensorFlow and PyTorch (see :func:`helpers.workarounds.import_coremltools`)."""
    from helpers.workarounds import import_coremltools

    return import_coremltools()


def _array_feature(spec_feature: Any, name: str, size: int) -> None:
    from coremltools.proto import FeatureTypes_pb2

    spec_feature.name = name
    spec_feature.type.multiArrayType.shape.append(size)
    spec_feature.type.multiArrayType.dataType = FeatureTypes_pb2.ArrayFeatureType.DOUBLE


def coreml_scaler(mean: Sequence[float], scale: Sequence[float], input_name: str = "features",
                  output_name: str = "scaled") -> Any:
    """A CoreML ``Scaler`` spec computing ``(x - mean) / scale`` (scikit-learn's ``StandardScaler``)."""
    _coremltools()
    from coremltools.proto import Model_pb2

    mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    if mean.shape != scale.shape or mean.ndim != 1:
        raise ValueError(f"mean and scale must be 1-D of equal length, got {mean.shape} and {scale.shape}.")
    spec = Model_pb2.Model()
    spec.specificationVersion = 1
    _array_feature(spec.description.input.add(), input_name, len(mean))
    _array_feature(spec.description.output.add(), output_name, len(mean))
    spec.scaler.shiftValue.extend((-mean).tolist())
    spec.scaler.scaleValue.extend((1.0 / scale).tolist())
    return spec


def coreml_glm_regressor(coef: Sequence[float], intercept: float, input_name: str = "features",
                         output_name: str = "prediction") -> Any:
    """A CoreML ``GLMRegressor`` spec computing ``x @ coef + intercept``."""
    _coremltools()
    from coremltools.proto import Model_pb2

    coef = np.asarray(coef, dtype=np.float64).ravel()
    spec = Model_pb2.Model()
    spec.specificationVersion = 1
    _array_feature(spec.description.input.add(), input_name, len(coef))
    out = spec.description.output.add()
    out.name = output_name
    out.type.doubleType.SetInParent()
    spec.description.predictedFeatureName = output_name
    spec.glmRegressor.weights.add().value.extend(coef.tolist())
    spec.glmRegressor.offset.append(float(intercept))
    return spec


def coreml_glm_classifier(coefs: Any, intercepts: Sequence[float], class_labels: Sequence[int],
                          input_name: str = "features") -> Any:
    """A CoreML one-vs-rest logistic ``GLMClassifier`` spec, outputs ``classLabel`` and ``classProbability``.

    coefs: (classes, features) weights, one row per class (a one-vs-rest model).
    class_labels: the integer label of each row.
    """
    _coremltools()
    from coremltools.proto import GLMClassifier_pb2, Model_pb2

    coefs = np.atleast_2d(np.asarray(coefs, dtype=np.float64))
    if len(coefs) != len(class_labels) or len(intercepts) != len(class_labels):
        raise ValueError(
            f"{len(coefs)} weight rows and {len(intercepts)} intercepts for {len(class_labels)} classes; "
            "pass one of each per class (a one-vs-rest model)."
        )
    spec = Model_pb2.Model()
    spec.specificationVersion = 1
    _array_feature(spec.description.input.add(), input_name, coefs.shape[1])
    label = spec.description.output.add()
    label.name = "classLabel"
    label.type.int64Type.SetInParent()
    proba = spec.description.output.add()
    proba.name = "classProbability"
    proba.type.dictionaryType.int64KeyType.SetInParent()
    spec.description.predictedFeatureName = "classLabel"
    spec.description.predictedProbabilitiesName = "classProbability"
    glm = spec.glmClassifier
    for row in coefs:
        glm.weights.add().value.extend(row.tolist())
    glm.offset.extend(float(b) for b in intercepts)
    glm.postEvaluationTransform = GLMClassifier_pb2.GLMClassifier.Logit
    glm.classEncoding = GLMClassifier_pb2.GLMClassifier.OneVsRest
    glm.int64ClassLabels.vector.extend(int(c) for c in class_labels)
    return spec


def coreml_pipeline_regressor(specs: Sequence[Any], n_features: int, input_name: str = "features",
                              output_name: str = "prediction") -> Any:
    """Chain CoreML specs with ``coremltools.models.pipeline.PipelineRegressor``; returns the spec."""
    _coremltools()
    from coremltools.models import datatypes
    from coremltools.models.pipeline import PipelineRegressor

    pipeline = PipelineRegressor([(input_name, datatypes.Array(n_features))], [(output_name, datatypes.Double())])
    for spec in specs:
        pipeline.add_model(spec)
    return pipeline.spec


def framework_outputs(model: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """The model's own outputs named as in its ONNX conversion: ``label`` and ``probabilities``
    for a classifier, ``variable`` (N, 1) for a regressor."""
    if hasattr(model, "predict_proba"):
        return {"label": np.asarray(model.predict(X)).ravel().astype(np.int64), "probabilities": model.predict_proba(X)}
    return {"variable": np.asarray(model.predict(X), dtype=np.float64).reshape(-1, 1)}
