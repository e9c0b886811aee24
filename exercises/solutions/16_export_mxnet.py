# Reference solutions of notebooks/16_export_mxnet.ipynb's exercises, pasted into its gaps by the runner.
# ruff: noqa: F821 (the notebook's variables)

# %% 16.1
mx.random.seed(0)
bn_net = gluon.nn.HybridSequential()
bn_net.add(gluon.nn.Conv2D(16, kernel_size=3, padding=1, activation="relu"), gluon.nn.BatchNorm(),
           gluon.nn.Conv2D(32, kernel_size=3, padding=1, activation="relu"), gluon.nn.MaxPool2D(2),
           gluon.nn.Flatten(), gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
bn_net.initialize(mx.init.Xavier())
bn_net.hybridize()
bn_trainer = gluon.Trainer(bn_net.collect_params(), "adam", {"learning_rate": 3e-3})
bn_rng = np.random.RandomState(0)
for _epoch in range(epochs):
    for batch in np.array_split(bn_rng.permutation(len(X)), range(64, len(X), 64)):
        with autograd.record():
            loss = loss_fn(bn_net(mx.nd.array(X[batch])), mx.nd.array(y[batch]))
        loss.backward()
        bn_trainer.step(len(batch))
exercise_dir = legacy.export_dir("exercises")
bn_net.export(str(exercise_dir / "digits_cnn_bn"), epoch=0)
bn_file = exercise_dir / "digits_cnn_bn.onnx"
mx.onnx.export_model(str(exercise_dir / "digits_cnn_bn-symbol.json"), str(exercise_dir / "digits_cnn_bn-0000.params"),
                     in_shapes=[(1, 1, 8, 8)], in_types=np.float32, onnx_file_path=str(bn_file),
                     dynamic=True, dynamic_input_shapes=[(None, 1, 8, 8)])
new_ops = {n.op_type for n in onnx.load(str(bn_file)).graph.node} - {n.op_type for n in chosen.graph.node}
print("new operators:", new_ops)
answer_16_1 = (bn_net, bn_file, new_ops.pop())

# %% 16.2
from helpers import opset as opset_tools  # noqa: E402 (a cell of the notebook)

other = 25 - opset  # 12 <-> 13
other_graph = MXNetGraph().create_onnx_graph_proto(
    sym, params, in_shapes=[(1, 1, 8, 8)], in_types=[onnx.TensorProto.FLOAT], opset_version=other,
    dynamic=True, dynamic_input_shapes=[(None, 1, 8, 8)])
other_file = legacy.export_dir("exercises") / f"digits_cnn_opset{other}.onnx"
onnx.save(onnx.helper.make_model_gen_version(other_graph, opset_imports=[onnx.helper.make_opsetid("", other)]), str(other_file))
changes = opset_tools.operator_changes(chosen_file, other_file)
print(changes)
answer_16_2 = (other_file, {row["operator"] for row in changes.rows if row["definition before"] != row["definition after"]})
