"""Checks of the exercises of notebooks/42_deploy_browser_node.ipynb; reference solutions in exercises/solutions/42_deploy_browser_node.py."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from exercises import exercise, load_onnx, onnx_session


def _digit_probabilities(model: Any, pixels: np.ndarray) -> np.ndarray:
    session = onnx_session(model)
    logits = session.run(None, {session.get_inputs()[0].name: pixels.reshape(1, 1, 8, 8).astype(np.float32)})[0][0]
    p = np.exp(logits - logits.max())
    return p / p.sum()


@exercise("42.1", "feed the page a digit the model doubts; answer its pixels and the page's two most probable labels")
def _check_ambiguous_digit(answer: Any, *, model: Any) -> str | None:
    if not isinstance(answer, Mapping) or not {"pixels", "top2"} <= set(answer):
        return "answer a dict {'pixels': your 64 values, 'top2': [most probable label, next one]}."
    pixels = np.asarray(answer["pixels"], dtype=np.float64)
    if pixels.size != 64 or not np.all((pixels >= 0) & (pixels <= 1)):
        return f"'pixels' should be 64 values (an 8x8 image) in [0, 1], like the data set's; got {pixels.size} values."
    top2 = [int(v) for v in np.asarray(answer["top2"]).ravel()]
    if len(top2) != 2:
        return f"'top2' should hold two labels, most probable first; got {len(top2)}."
    p = _digit_probabilities(model, pixels)
    if p.max() > 0.9:
        return (f"the model is sure of this one (top probability {p.max():.2f}): make it doubt, e.g. blend two test "
                "digits of different classes, and aim below 0.9.")
    expected = [int(i) for i in np.argsort(-p)[:2]]
    if top2 == expected:
        return None
    if top2 == expected[::-1]:
        return "the right two labels, in the wrong order: most probable first."
    if top2[0] == expected[0]:
        return "the first label is right, the second is not: it is the second-highest bar, not the second digit you blended."
    return "these are not the page's two highest bars for your pixels: run the page on them and sort its probabilities."


@exercise("42.2", "serve the int8 MiniLM: answer how many times smaller its file is, and its embeddings' cosine to fp32")
def _check_int8_trade(answer: Any, *, fp32_path: Any, int8_path: Any, feeds: Mapping[str, np.ndarray]) -> str | None:
    from helpers import minilm

    if not isinstance(answer, Mapping) or not {"size_ratio", "min_cosine"} <= set(answer):
        return "answer a dict {'size_ratio': fp32 size / int8 size, 'min_cosine': the lowest sentence cosine}."
    ratio = Path(fp32_path).stat().st_size / Path(int8_path).stat().st_size
    given = float(answer["size_ratio"])
    if abs(given * ratio - 1) < 0.05 and abs(ratio - 1) > 0.05:
        return "the size ratio is upside down: divide the fp32 file's size by the int8 file's."
    if abs(given / ratio - 1) > 0.02:
        return "that is not the ratio of the two files' sizes on disk (Path.stat().st_size)."
    cosine = float(answer["min_cosine"])
    if cosine > 0.99999:
        return "a cosine of 1 means you compared a model with itself: compare the int8 embeddings with the fp32 ones."
    mask = feeds["attention_mask"]
    fp32 = minilm.mean_pool(onnx_session(fp32_path).run(None, dict(feeds))[0], mask)
    int8 = minilm.mean_pool(onnx_session(int8_path).run(None, dict(feeds))[0], mask)
    expected = float(minilm.cosine_rows(fp32, int8).min())
    if abs(cosine - expected) > 0.01:
        return ("not the sentence embeddings' lowest cosine: mean-pool the token vectors with the attention mask "
                "(helpers.minilm.mean_pool) before comparing, one cosine per sentence.")
    return None


def _port(url: str) -> int | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).port
    except ValueError:
        return None


@exercise("42.3", "serve the page from your own server with the two isolation headers; answer its URL")
def _check_isolation_headers(answer: Any, *, notebook_urls: Any = ()) -> str | None:
    import urllib.error
    import urllib.request

    from helpers.processes import running_servers
    from helpers.web import ISOLATION_HEADERS

    if not isinstance(answer, str) or not answer.startswith("http://127.0.0.1:"):
        return "answer the page's URL on this machine, e.g. 'http://127.0.0.1:8123/' (listen on 127.0.0.1 only)."
    theirs = {_port(u) for u in ([notebook_urls] if isinstance(notebook_urls, str) else notebook_urls)}
    theirs |= {server.port for server in running_servers()}  # every server helpers started in this kernel
    if _port(answer) in theirs:
        return ("that is a server the workbook started (helpers): write your own, a few lines around Python's "
                "http.server whose handler sends the two headers.")
    replies = {}
    for path in ("", "app.js"):  # the page and a file it loads: the headers belong on every response
        try:
            with urllib.request.urlopen(answer.rstrip("/") + "/" + path, timeout=10) as reply:
                replies[path or "/"] = (reply.headers, reply.read().decode(errors="replace"))
        except (urllib.error.URLError, OSError) as err:
            return f"could not open {answer.rstrip('/')}/{path} ({err}): keep your server running while the check calls it."
        if "app.js" not in replies["/"][1]:
            return "that URL does not serve the workbook's page: serve the web/ folder (web/index.html at the root)."
    for path, (headers, _) in replies.items():
        for name, value in ISOLATION_HEADERS.items():
            if (headers.get(name) or "").strip().lower() != value:
                return (f"the reply to {path} lacks `{name}: {value}`: send it with every response "
                        "(end_headers, or nginx add_header ... always).")
    return None


@exercise("42.4", "save the digits CNN with only its tensors of 16 KB and more in external data; answer the path")
def _check_external_data(answer: Any, *, reference: Any, X: np.ndarray, notebook_file: Any = (),
                         threshold: int = 16384) -> str | None:
    import onnx
    from onnx import numpy_helper

    from exercises import answer_file

    hint = answer_file(answer, not_one_of=notebook_file)
    if hint:
        return hint
    path = Path(answer)
    model = onnx.load(str(path), load_external_data=False)
    external = {t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL}
    if not external:
        return ("every weight is inside the file: save with save_as_external_data=True "
                "(or export with torch.onnx.export(..., dynamo=True, external_data=True)).")
    from helpers.inspect import ExternalDataOutsideError, external_data_files

    try:
        files = external_data_files(model, path.parent)
    except ExternalDataOutsideError:
        return "the weights file must sit inside the model's folder: save with a plain file name as location."
    for file in files:
        if not file.is_file():
            return f"the weights file {file.name!r} is not beside the model: ship the two files together."
    sizes = {t.name: numpy_helper.to_array(t).nbytes for t in load_onnx(reference).graph.initializer}
    big = {name for name, size in sizes.items() if size >= threshold}
    if external != big:
        moved_small = sorted(external - big)
        return (f"the external file should hold exactly the tensors of {threshold // 1024} KB and more ({len(big)} of "
                f"them); yours holds {len(external)}" + (f", small ones too ({moved_small[:3]})" if moved_small else "")
                + ": pass size_threshold to onnx.save (its default, 1 KB, is what the notebook used).")
    ours = onnx_session(path).run(None, {onnx_session(path).get_inputs()[0].name: X})[0]
    ref = onnx_session(reference).run(None, {onnx_session(reference).get_inputs()[0].name: X})[0]
    if ours.shape != ref.shape or not np.allclose(ours, ref, rtol=1e-4, atol=1e-5):
        return "the file loads but does not compute the digits CNN's logits: save the notebook's model, unchanged."
    return None


@exercise("42.5", "convert MiniLM to the ORT format; answer the .ort path and how many kernels its minimal build needs")
def _check_ort_format(answer: Any, *, model: Any, feeds: Mapping[str, np.ndarray]) -> str | None:
    if not isinstance(answer, Mapping) or not {"ort", "kernels"} <= set(answer):
        return "answer a dict {'ort': the .ort file's path, 'kernels': the number of operators in its config}."
    path = Path(answer["ort"])
    if path.suffix != ".ort" or not path.is_file():
        return f"{path} is not an .ort file that exists: run onnxruntime.tools.convert_onnx_models_to_ort on MiniLM."
    config = path.with_name(path.stem + ".required_operators.config")
    if not config.is_file():
        return f"no {config.name} beside the .ort file: answer the file in the converter's --output_dir."
    import onnxruntime as ort

    # an .ort file is a flatbuffer, not an ONNX protobuf: the workbook's validating builder would refuse it
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if sorted(i.name for i in session.get_inputs()) != sorted(feeds):
        return f"this .ort file takes {[i.name for i in session.get_inputs()]}, not MiniLM's inputs: convert MiniLM."
    ours, ref = session.run(None, dict(feeds))[0], onnx_session(model).run(None, dict(feeds))[0]
    if ours.shape != ref.shape or not np.allclose(ours, ref, rtol=1e-3, atol=1e-3):
        return "the .ort file does not compute what the MiniLM .onnx file computes: convert the notebook's MiniLM."
    kernels = sum(len(line.split(";")[2].split(",")) for line in config.read_text().splitlines()
                  if line.strip() and not line.startswith("#"))
    given = answer["kernels"]
    if not isinstance(given, (int, np.integer)) or isinstance(given, bool):  # noqa: UP038
        return f"'kernels' should be a whole number, not {type(given).__name__}."
    if given != kernels:
        return ("not the number of operators the config lists: count the names after the last ';' on every line "
                "(all domains: ai.onnx and com.microsoft).")
    return None
