# Reference solutions of notebooks/30_inference_onnxruntime.ipynb's exercises (pasted into the gaps by the runner).
# ruff: noqa: F821 (the notebook's variables: these cells run inside it)

# %% 30.1
try:
    runtime.validate_inputs(session, {DIGITS_INPUT: np.zeros((2, 1, 8, 9), dtype=np.float32)})
except runtime.InputError as err:
    answer_30_1 = err
print(answer_30_1)
print("ONNX Runtime:", runtime.capture_error(session.run, None, {DIGITS_INPUT: np.zeros((2, 1, 8, 9), dtype=np.float32)}))

# %% 30.2
versioned = onnx.load(labeled)
entries = {p.key: p.value for p in versioned.metadata_props}
onnx.helper.set_model_props(versioned, {**entries, "version": "1.0"})
answer_30_2 = out / "digits_cnn_versioned.onnx"
onnx.save(versioned, answer_30_2)
print(dict(ort.InferenceSession(str(answer_30_2), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map))
