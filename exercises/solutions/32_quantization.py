# Reference solutions of notebooks/32_quantization.ipynb's exercises (pasted into the gaps by the runner).
# ruff: noqa: F821 (the notebook's variables: these cells run inside it)

# %% 32.1
cnn_32 = out / "digits_cnn_int8_qdq_32_images.onnx"
quantize_static(str(cnn_prep), str(cnn_32), DigitsReader(digits.X_train[:32]), quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True,
                calibrate_method=CalibrationMethod.MinMax)
logits_32 = session(cnn_32).run(None, {DIGITS_INPUT: digits.X_test})[0]
answer_32_1 = {"model": cnn_32, "accuracy": float((logits_32.argmax(1) == digits.y_test).mean())}
print(f"accuracy, calibrated on 32 images: {answer_32_1['accuracy']:.3f}; on 256: {cnn_rows[1]['accuracy']:.3f}")

# %% 32.2
short = minilm.tokenize(tokenizer, sentences[:1], max_length=32)
int8_session = sessions["int8 fused (optimize_model)"]
answer_32_2 = {"feeds": short, "times": benchmark.time_interleaved(
    {"fp32": lambda: sessions["fp32"].run(None, short), "int8": lambda: int8_session.run(None, short)},
    warmup=2, repeats=repeats)}
print({name: str(t) for name, t in answer_32_2["times"].items()})

# %% 32.3
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class SentenceReader(CalibrationDataReader):
    """One tokenized sentence per get_next."""

    def __init__(self, feeds):
        self.batches = [{k: v[i : i + 1] for k, v in feeds.items()} for i in range(len(feeds["input_ids"]))]
        self.rewind()

    def get_next(self):
        return next(self._iter, None)

    def rewind(self):
        self._iter = iter(self.batches)


# The FFN's second MatMul reads GELU's output (x * 0.5 * (1 + erf(...)), a Mul): its activations have outliers
# that one int8 scale cannot hold (cosine mean about 0.92 with it quantized, 0.99 without): keep it in float.
graph = onnx.load(str(fp32)).graph
producer = {output: node for node in graph.node for output in node.output}
after_gelu = [n.name for n in graph.node if n.op_type == "MatMul" and producer[n.input[0]].op_type == "Mul"]
answer_32_3 = out / "minilm_int8_static_qdq.onnx"
calibration = SentenceReader(minilm.tokenize(tokenizer, sentences[:4], max_length=32))  # a few sentences: quick
quantize_static(str(fp32), str(answer_32_3), calibration, quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
                nodes_to_exclude=after_gelu)
print(len(after_gelu), "MatMuls left in float;", dict(op_counts(answer_32_3).most_common(5)))
