# Reference solutions of notebooks/10_export_pytorch.ipynb's exercises, filled into the gaps by the runner.
# ruff: noqa: F821 (the names come from the notebook)

# %% 10.1
answer_10_1 = out / "digits_cnn_single.onnx"
onnx_program.save(answer_10_1, external_data=False)  # the program exported in section 3: no second export
print(export.artifact_sizes({"one file": answer_10_1, "graph + .data file": dynamo_path}))

# %% 10.2
class AutoScaleCond(AutoScale):
    """The branch as torch.cond: the dynamo exporter writes an ONNX If."""

    def forward(self, x):
        return self.cnn(torch.cond(x.max() > 1, lambda x: x / 16, lambda x: x.clone(), (x,)))


answer_10_2 = out / "autoscale_cond_dynamo.onnx"
torch.onnx.export(AutoScaleCond(model).eval(), (example,), answer_10_2, dynamo=True, input_names=["image"],
                  output_names=["logits"], dynamic_shapes=({0: batch},), opset_version=opset,
                  external_data=False, verbose=False)
print(inspect.summarize_model(answer_10_2).operators)

# %% 10.3
try:
    check_parameters("10_export_pytorch", {**globals(), "opset": 17})
    answer_10_3 = None
except ValueError as err:
    answer_10_3 = err
print(answer_10_3)
