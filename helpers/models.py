"""The workbook's small reference models, shared by the export, inference, Netron and deployment notebooks.

The digits CNN is the workbook's running example: exported in notebooks/10, benchmarked in the 30s,
drawn by Netron in the 20s and served in the 40s. Notebooks that need its ONNX file call
:func:`digits_cnn_onnx`, which trains and exports it once and reuses the file afterwards.

Example::

    from helpers.models import digits_cnn_onnx
    path = digits_cnn_onnx()                       # build/models/shared/digits_cnn.onnx
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from helpers.paths import models_dir

__all__ = [
    "make_digits_cnn",
    "train_torch_classifier",
    "torch_predict",
    "make_keras_digits_model",
    "digits_cnn_onnx",
    "DIGITS_INPUT",
    "DIGITS_OUTPUT",
]

#: Input and output names of the exported digits CNN.
DIGITS_INPUT = "image"
DIGITS_OUTPUT = "logits"


def make_digits_cnn(channels: int = 16, seed: int = 0) -> Any:
    """A small PyTorch CNN for 1x8x8 digits: two conv blocks and a linear head (10 logits).

    channels: width of the first conv layer (the second has twice as many).
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, channels, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Flatten(),
        nn.Linear(2 * channels * 16, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def train_torch_classifier(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
    threads: int | None = 1,
) -> list[float]:
    """Train ``model`` with Adam and cross-entropy; returns the mean loss of each epoch.

    Shows a progress bar over epochs unless ``progress=False``. ``threads`` caps torch's
    intra-op threads during training (restored afterwards): one thread is fastest for these
    tiny models, and much faster when other work shares the cores. ``None`` keeps torch's setting.
    """
    import torch
    from tqdm.auto import tqdm

    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; pass matching arrays.")
    generator = torch.Generator().manual_seed(seed)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        model.train()
        for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
            order = torch.randperm(len(Xt), generator=generator)
            total = 0.0
            for start in range(0, len(Xt), batch_size):
                idx = order[start : start + batch_size]
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


def make_keras_digits_model(seed: int = 0) -> Any:
    """A small Keras 3 functional CNN for 8x8x1 digits (channels last), softmax over 10 classes."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(8, 8, 1), name="image")
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_keras")


def digits_cnn_onnx(
    path: str | os.PathLike[str] | None = None,
    epochs: int = 8,
    rebuild: bool = False,
) -> Path:
    """The trained digits CNN as one ONNX file (``torch.onnx.export(dynamo=True)``, opset 18, dynamic batch), built on first use.

    path: where to keep it (default ``build/models/shared/digits_cnn.onnx``).
    epochs: training epochs when it has to be built (about a second each on 2 cores).
    rebuild: train and export again even if the file exists.

    The weights stay inside the file (``external_data=False``), so the deployment and browser notebooks
    can copy or fetch one file. The class labels ``"0"`` to ``"9"`` are stored under the metadata key
    ``labels`` (a JSON list). The export is verified against PyTorch on the digits test set before the
    file is kept.
    """
    target = Path(path) if path else models_dir("shared") / "digits_cnn.onnx"
    if target.exists() and not rebuild:
        return target
    import torch

    from helpers import data
    from helpers.export import export_torch, set_metadata
    from helpers.verify import compare_outputs, run_onnx

    ds = data.load_digits(kind="images")
    model = make_digits_cnn()
    train_torch_classifier(model, ds.X_train, ds.y_train, epochs=epochs, progress=False)
    target.parent.mkdir(parents=True, exist_ok=True)
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
