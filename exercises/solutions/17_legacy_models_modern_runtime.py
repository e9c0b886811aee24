# Reference solutions of notebooks/17_legacy_models_modern_runtime.ipynb's exercises, pasted into its gaps by the runner.
# ruff: noqa: F821 (the notebook's variables)

# %% 17.1
mx_old = min(exports["mxnet"].models, key=lambda m: m.opset)
mx_up = version_converter.convert_version(onnx.load(mx_old.path), target_opset)
onnx.checker.check_model(mx_up, full_check=True)
mx_up_path = legacy.export_dir("upgraded") / f"mxnet_digits_cnn_opset{target_opset}.onnx"
onnx.save(mx_up, mx_up_path)
print(verify.check_conversion(
    mx_up_path, list(exports["mxnet"].inputs.values()), list(exports["mxnet"].outputs.values()),
    name=f"upgraded: mxnet digits CNN (opset {mx_old.opset} -> {target_opset})", framework="mxnet",
    converter="onnx.version_converter", rtol=1e-4, atol=1e-5, classification=True, record=False))
mx_changes = opset_tools.operator_changes(mx_old.path, mx_up_path)
answer_17_1 = (mx_up_path, {r["operator"] for r in mx_changes.rows if r["definition before"] != r["definition after"]})

# %% 17.2
clf7 = opset_tools.old_opset_classifier(opset=7)
one_step = version_converter.convert_version(clf7, target_opset)
two_steps = version_converter.convert_version(version_converter.convert_version(clf7, 13), target_opset)
same_nodes = [n.op_type for n in one_step.graph.node] == [n.op_type for n in two_steps.graph.node]
probe = np.random.RandomState(2).rand(64, 64).astype(np.float32)
print("same nodes:", same_nodes, "| largest difference:",
      np.abs(verify.run_onnx(one_step, probe)["probabilities"] - verify.run_onnx(two_steps, probe)["probabilities"]).max())
answer_17_2 = (one_step, two_steps, same_nodes)
