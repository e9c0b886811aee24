# Reference solutions of notebooks/15_export_chainer.ipynb's exercises, pasted into its gaps by the runner.
# ruff: noqa: F821 (the notebook's variables)

# %% 15.1
import warnings

import onnxruntime as ort

opset6_file = legacy.export_dir("exercises") / "chainer_digits_cnn_opset6.onnx"
with warnings.catch_warnings(record=True) as caught, chainer.using_config("train", False):
    warnings.simplefilter("always")
    onnx_chainer.export(model, example, filename=str(opset6_file), opset_version=6)
opset6_warning = next(str(w.message) for w in caught if "opset_version" in str(w.message))
try:
    ort.InferenceSession(str(opset6_file), providers=["CPUExecutionProvider"])
    opset6_error = None
except Exception as err:  # ONNX Runtime has no kernels for opsets before 7
    opset6_error = err
print(opset6_warning[:120], "|", str(opset6_error)[:160])
answer_15_1 = (opset6_warning, opset6_error)


# %% 15.2
class FlatteningCNN(DigitsCNN):
    def forward(self, x):
        h = F.max_pooling_2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        return self.fc2(F.relu(self.fc1(h)))  # L.Linear flattens the 4-D h itself


flattening = FlatteningCNN()
flattening.copyparams(model)
flat_file = legacy.export_dir("exercises") / "chainer_digits_cnn_linear_flattens.onnx"
with chainer.using_config("train", False):
    onnx_chainer.export(flattening, example, filename=str(flat_file), opset_version=opset,
                        input_names=["image"], output_names=["logits"], input_shapes=[("batch", 1, 8, 8)])
try:
    verify.run_onnx(flat_file, {"image": digits.X_test[:5]})
    batch_of_5 = True
except Exception as err:  # the Reshape constant baked in the example's batch of 1
    print(type(err).__name__, str(err)[:160])
    batch_of_5 = False
answer_15_2 = (flat_file, batch_of_5)
