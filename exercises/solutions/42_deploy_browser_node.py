# ruff: noqa: F821, E402  (a notebook's cells: the names come from notebooks/42_deploy_browser_node.ipynb)
# Reference solutions of notebooks/42_deploy_browser_node.ipynb's exercises (the runner pastes each cell in
# place of its gap; they use the notebook's variables: page_1, probe_page, try_page, cnn_path, fp32_path, feeds, ...).

# %% 42.1
def page_probabilities(pixels):
    """Paint `pixels` on the pad; the pad's own 8x8 pixels and the page's softmax for them."""
    shown = page_1.call("showDigit", list(map(float, pixels)))
    pad = np.array(shown["pixels"], dtype=np.float32).reshape(1, 1, 8, 8)
    out = page_1.call("run", "/models/digits_cnn.onnx", {cnn_input: web.to_wire(pad)})
    logits = web.from_wire(next(iter(out.values())))[0]
    return shown["pixels"], np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()


three, eight = digits.X_test[digits.y_test == 3][0].ravel(), digits.X_test[digits.y_test == 8][0].ravel()
for w in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8):  # half a 3, half an 8: move the mix until the model doubts
    pixels, probs = page_probabilities(w * three + (1 - w) * eight)
    if probs.max() < 0.9:
        break
print(f"mix {w:.1f}: bars {np.round(probs, 2).tolist()}")
answer_42_1 = {"pixels": pixels, "top2": np.argsort(-probs)[:2].tolist()}

# %% 42.2
py_fp32 = ort.InferenceSession(fp32_path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
page_int8_emb = minilm.mean_pool(web.from_wire(web_int8[minilm.OUTPUT_NAME]), feeds["attention_mask"])
answer_42_2 = {"size_ratio": fp32_path.stat().st_size / int8_path.stat().st_size,
               "min_cosine": float(minilm.cosine_rows(page_int8_emb,
                                                      minilm.mean_pool(py_fp32, feeds["attention_mask"])).min())}
print(answer_42_2)

# %% 42.3
import functools
import http.server
import threading


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    """Python's static file server, plus the two headers (nginx: add_header ... always)."""

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args):
        pass


my_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(IsolatedHandler, directory=str(web.web_dir())))
threading.Thread(target=my_server.serve_forever, daemon=True).start()  # runs until the kernel stops
answer_42_3 = f"http://127.0.0.1:{my_server.server_address[1]}/"

# %% 42.4
answer_42_4 = out / "digits_cnn_big_external.onnx"
onnx.save(onnx.load(cnn_path), answer_42_4, save_as_external_data=True, location=answer_42_4.name + ".data",
          size_threshold=16 * 1024)  # only tensors of 16 KB and more move; onnx.save's default threshold is 1 KB
stored = onnx.load(answer_42_4, load_external_data=False).graph.initializer
print("in the .data file:", [t.name for t in stored if t.data_location == onnx.TensorProto.EXTERNAL])
print("with externalData:", try_page(f"/x/{answer_42_4.name}", externalData=[
    {"path": answer_42_4.name + ".data", "data": f"/x/{answer_42_4.name}.data"}]))

# %% 42.5
from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

minilm_ort = build_dir("web", "ort_format", "minilm")  # the converter's Python API: no second interpreter to start
convert_onnx_models_to_ort(fp32_path, output_dir=minilm_ort, optimization_styles=[OptimizationStyle.Fixed])
minilm_config = (minilm_ort / f"{fp32_path.stem}.required_operators.config").read_text()
print(minilm_config)
answer_42_5 = {"ort": minilm_ort / f"{fp32_path.stem}.ort",
               "kernels": sum(len(line.split(";")[2].split(",")) for line in minilm_config.splitlines()
                              if line.strip() and not line.startswith("#"))}
