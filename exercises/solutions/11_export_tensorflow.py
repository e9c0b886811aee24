# Reference solutions of notebooks/11_export_tensorflow.ipynb's exercises, filled into the gaps by the runner.
# ruff: noqa: F821 (the names come from the notebook)

# %% 11.1
answer_11_1 = out / "digits_functional_nchw.onnx"
tf2onnx.convert.from_keras(functional, input_signature=signature, opset=opset, inputs_as_nchw=["image"],
                           output_path=str(answer_11_1))  # the model trained in section 2: no new training

# %% 11.2
answer_11_2 = out / "digits_functional_opset13.onnx"
tf2onnx.convert.from_keras(functional, input_signature=signature, opset=13, output_path=str(answer_11_2))
print(inspect.summarize_model(answer_11_2).operators, inspect.summarize_model(functional_path).operators)
