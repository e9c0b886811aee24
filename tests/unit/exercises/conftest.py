"""Fixtures shared by the exercise-check tests: small inputs built in code."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def images():
    """Six random 8x8 images, a linear model's weights W, and its softmax probabilities."""
    rng = np.random.default_rng(0)
    X = rng.random((6, 1, 8, 8), dtype=np.float32)
    W = rng.normal(size=(64, 10)).astype(np.float32)
    scores = X.reshape(6, -1) @ W
    probs = np.exp(scores - scores.max(1, keepdims=True))
    return X, W, probs / probs.sum(1, keepdims=True)
