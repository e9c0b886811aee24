# ruff: noqa: F821, E402, I001  (cells pasted into the notebook: its names and imports are in scope there)
# Reference solutions of notebooks/19_mlnet_models_modern_runtime.ipynb; the runner pastes each cell into its gap.

# %% 19.1
opset13 = to_onnx(pipe, initial_types=[("x", FloatTensorType([None, 4]))],
                  target_opset={"": 13, "ai.onnx.ml": 1}, options={"zipmap": False})
answer_19_1 = (opset13, opset13.ir_version)
print("ai.onnx operators:", [n.op_type for n in opset13.graph.node if n.domain in ("", "ai.onnx")])

# %% 19.2
opset13.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
kept = [o for o in opset13.graph.output if o.name == "probabilities"]
del opset13.graph.output[:]
opset13.graph.output.extend(kept)
opset13.graph.output[0].type.tensor_type.shape.dim[0].dim_value = 1
onnx.save(opset13, work / "iris_opset13.onnx")
try:
    score_in_mlnet(work / "iris_opset13.onnx", ["probabilities"])
    answer_19_2 = "ran"
except RuntimeError as err:
    answer_19_2 = err
    print(str(err).splitlines()[-1])

# %% 19.3
import warnings

import torch

from helpers import models

cnn = models.make_digits_cnn().eval()
answer_19_3 = work / "digits_cnn_opset11.onnx"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated in favour of dynamo=True
    torch.onnx.export(cnn, (torch.zeros(1, 1, 8, 8),), str(answer_19_3), dynamo=False, opset_version=11,
                      input_names=["image"], output_names=["probabilities"])
