"""The workbook's running example, a small CNN for 8x8 digits, built, trained and exported once
(``digits_cnn_onnx()``). Exported in notebooks 10 (PyTorch) and 11 (Keras), drawn in 20, timed in the 30s, served in the 40s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from helpers.paths import models_dir

#: Input and output names of the exported digits CNN.
DIGITS_INPUT = "image"
DIGITS_OUTPUT = "logits"


def make_digits_cnn() -> Any:
    """A PyTorch CNN for 1x8x8 digits (seed 0): two conv layers (16 and 32 channels) and a linear head of 10 logits."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Flatten(),
        nn.Linear(32 * 16, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def train_torch_classifier(model: Any, X: np.ndarray, y: np.ndarray, epochs: int = 10,
                           progress: bool = True) -> list[float]:
    """Train ``model`` with Adam (lr 3e-3, batches of 64, seed 0), cross-entropy; returns each epoch's mean loss.

    One thread: fastest for so small a model, and when other work shares the cores.
    """
    import torch
    from tqdm.auto import tqdm

    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; pass matching arrays.")
    generator = torch.Generator().manual_seed(0)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.train()
        for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
            total = 0.0
            for idx in torch.randperm(len(Xt), generator=generator).split(64):
                opt.zero_grad()
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            history.append(total / len(Xt))
    finally:
        torch.set_num_threads(previous_threads)
        model.eval()
    return history


def torch_predict(model: Any, X: np.ndarray) -> np.ndarray:
    """The model's outputs on ``X`` as a float32 numpy array (eval mode, no gradients)."""
    import torch

    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=torch.float32)).numpy()


def make_keras_digits_model() -> Any:
    """A small Keras 3 functional CNN for 8x8x1 digits (channels last, seed 0), softmax over 10 classes."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8, 8, 1), name="image")
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_keras")


def digits_cnn_onnx(epochs: int = 8) -> Path:
    """``build/models/shared/digits_cnn.onnx``: the trained CNN (dynamo, opset 18, dynamic batch), built on first use.

    Weights inside, labels ``"0"``-``"9"`` in the metadata; kept only if it matches PyTorch on the test set.
    """
    target = models_dir("shared") / "digits_cnn.onnx"
    if target.exists():
        return target
    import torch

    from helpers import data
    from helpers.export import export_torch, set_metadata
    from helpers.verify import compare_outputs, run_onnx

    ds = data.load_digits(kind="images")
    model = make_digits_cnn()
    train_torch_classifier(model, ds.X_train, ds.y_train, epochs=epochs, progress=False)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")  # parallel builders never collide
    export_torch(model, torch.zeros(2, 1, 8, 8), tmp, dynamo=True, input_names=[DIGITS_INPUT],
                 output_names=[DIGITS_OUTPUT], opset=18, external_data=False)
    set_metadata(tmp, props={"labels": [str(d) for d in range(10)]})
    result = compare_outputs([torch_predict(model, ds.X_test)], [run_onnx(tmp, ds.X_test)[DIGITS_OUTPUT]],
                             classification=True, name="digits_cnn")
    if not result.passed:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"The exported digits CNN does not match PyTorch: {result}")
    tmp.replace(target)
    return target
