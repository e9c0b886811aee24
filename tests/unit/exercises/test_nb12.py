"""Checks of notebooks/12_export_sklearn.ipynb's exercises (exercises/nb12_export_sklearn.py): the right answer passes,
each shortcut a tired attendee takes is refused with a hint.
"""

from __future__ import annotations

import numpy as np
import pytest

import exercises

RNG = np.random.default_rng(0)


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, (exercise_id, feedback.message)


@pytest.fixture(scope="module")
def churn_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from helpers import data

    churn = data.load_churn()
    numeric = ["tenure_months", "monthly_charges", "support_calls", "senior"]
    categorical = ["contract", "payment_method", "internet"]
    prepare = ColumnTransformer([("numeric", StandardScaler(), numeric),
                                 ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)])
    pipe = Pipeline([("prepare", prepare), ("classifier", LogisticRegression(max_iter=1000))])
    return churn, pipe.fit(churn.X_train, churn.y_train)


def test_12_1_wants_a_converted_forest(churn_pipeline):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    churn, pipe = churn_pipeline
    _refused("12.1", pipe, "answer a pair", X_test=churn.X_test, feed={})
    _refused("12.1", (pipe, "churn.onnx"), "not a RandomForestClassifier", X_test=churn.X_test, feed={})

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    X = churn.X_test[["tenure_months", "monthly_charges"]].to_numpy(np.float32)
    forest = make_pipeline(RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, churn.y_test)
    onx = to_onnx(forest, initial_types=[("X", FloatTensorType([None, 2]))], target_opset=17,
                  options={"zipmap": False})
    assert exercises.check("12.1", (forest, onx), X_test=X, feed={"X": X})
    flipped = make_pipeline(RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, 1 - churn.y_test)
    _refused("12.1", (flipped, onx), "of the ONNX labels equal the pipeline's", X_test=X, feed={"X": X})


def test_12_1_refuses_a_forest_answered_with_the_conversion_of_another_forest(churn_pipeline):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    churn, _ = churn_pipeline
    X = churn.X_test[["tenure_months", "monthly_charges"]].to_numpy(np.float32)
    converted = make_pipeline(RandomForestClassifier(n_estimators=20, min_samples_leaf=40, random_state=0)).fit(X, churn.y_test)
    # the same first 20 trees and two more: the labels agree, the probabilities do not
    answered = make_pipeline(RandomForestClassifier(n_estimators=22, min_samples_leaf=40, random_state=0)).fit(X, churn.y_test)
    onx = to_onnx(converted, initial_types=[("X", FloatTensorType([None, 2]))], target_opset=17,
                  options={"zipmap": False})
    _refused("12.1", (answered, onx), "other probabilities than the pipeline's", X_test=X, feed={"X": X})


def test_12_1_refuses_the_notebook_s_own_logistic_model(churn_pipeline):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    churn, _ = churn_pipeline
    X = churn.X_test[["tenure_months", "monthly_charges"]].to_numpy(np.float32)
    forest = make_pipeline(RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, churn.y_test)
    logistic = make_pipeline(LogisticRegression()).fit(X, churn.y_test)
    onx = to_onnx(logistic, initial_types=[("X", FloatTensorType([None, 2]))], target_opset=17,
                  options={"zipmap": False})
    _refused("12.1", (forest, onx), "no tree ensemble", X_test=X, feed={"X": X})


def test_12_2_wants_the_unseen_category_probabilities(churn_pipeline):
    churn, pipe = churn_pipeline
    row = churn.X_test.iloc[:1]
    unseen = row.copy()
    unseen["contract"] = "ten-year"
    assert exercises.check("12.2", pipe.predict_proba(unseen).astype(np.float32), pipe=pipe, row=row)
    _refused("12.2", pipe.predict_proba(row).astype(np.float32), "original row", pipe=pipe, row=row)
    _refused("12.2", pipe.predict_proba(unseen)[:, ::-1].astype(np.float32), "not the probabilities of the row",
             pipe=pipe, row=row)
    _refused("12.2", 0.3, "shape (1, 2)", pipe=pipe, row=row)


def test_12_2_refuses_scikit_learn_s_own_probabilities(churn_pipeline):
    churn, pipe = churn_pipeline
    row = churn.X_test.iloc[:1]
    unseen = row.copy()
    unseen["contract"] = "ten-year"
    _refused("12.2", pipe.predict_proba(unseen), "scikit-learn's predict_proba", pipe=pipe, row=row)
