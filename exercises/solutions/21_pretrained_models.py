# ruff: noqa: F821, E402, I001  (cells pasted into the notebook: its names and imports are in scope there)
# Reference solutions of notebooks/21_pretrained_models.ipynb; the runner pastes each cell into its gap.

# %% 21.1
from onnx import numpy_helper

vgg19 = zoo.light_model("vgg19")
if not quick:  # about 5 s, and 550 MB of weights
    timings["vgg19"] = zoo.time_model(vgg19, zoo.dummy_inputs(vgg19), runs=timing_runs)
    print(timings["vgg19"])
vgg_graph = onnx.load(vgg19.path).graph
shapes = {t.name: numpy_helper.to_array(t) for t in vgg_graph.initializer}
answer_21_1 = int(sum(np.prod(shapes[n.input[0]]) for n in vgg_graph.node if n.op_type == "ConstantOfShape"))
print(f"{answer_21_1 / 1e6:.1f} M weights, {4 * answer_21_1 / 2**20:.0f} MiB as float32")

# %% 21.2
from onnx import version_converter

squeeze13 = version_converter.convert_version(squeeze_model, 13)
answer_21_2 = zoo.intermediate_parity(squeeze13, zoo.dummy_inputs(squeeze13), name="squeezenet (light) at opset 13",
                                      record=False)
print("outside tolerance:", [o.name for o in answer_21_2.outputs if not o.allclose])
print([(n.op_type, {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute})
       for n in squeeze13.graph.node if n.op_type in ("Flatten", "Softmax", "Reshape")])
