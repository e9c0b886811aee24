# Reference solutions of notebooks/01_onnx_basics.ipynb's exercises, filled into the gaps by the runner.
# ruff: noqa: F821 (the names come from the notebook)

# %% 1.1
softmax_graph = helper.make_graph(
    [helper.make_node("Softmax", ["x"], ["y"], axis=1)], "softmax_opset11",
    inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 4])],
    outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 4])],
)
softmax_11 = helper.make_model(softmax_graph, opset_imports=[helper.make_opsetid("", 11)])
softmax_11.ir_version = 10
onnx.checker.check_model(softmax_11, full_check=True)
softmax_session = ort.InferenceSession(softmax_11.SerializeToString(), providers=["CPUExecutionProvider"])
answer_1_1 = (softmax_11, softmax_session.run(None, {"x": x})[0])

# %% 1.2
doubled = onnx.ModelProto()
doubled.CopyFrom(hand_model)
doubled.graph.initializer.append(numpy_helper.from_array(np.array(2, dtype=np.float32), "two"))
doubled.graph.node.insert(2, helper.make_node("Mul", ["scores", "two"], ["doubled_scores"]))
doubled.graph.node[3].input[0] = "doubled_scores"  # the Softmax now reads the doubled scores
answer_1_2 = doubled
