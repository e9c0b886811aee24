# ruff: noqa: F821, E402, I001  (cells pasted into the notebook: its names and imports are in scope there)
# Reference solutions of notebooks/20_visualize_netron.ipynb; the runner pastes each cell into its gap.

# %% 20.1
answer_20_1 = out / "digits_cnn_int8_qoperator.onnx"
quantize_static(str(cnn_path), str(answer_20_1), DigitsReader(n_calibration), quant_format=QuantFormat.QOperator,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)  # S8S8, as in section 7
print({op: n for op, n in sorted(inspect.summarize_model(answer_20_1).operators.items())})

# %% 20.2
import warnings

answer_20_2 = out / "cnn_dynamo_default_opset.onnx"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.onnx.export(cnn, example, answer_20_2, dynamo=True, input_names=[models.DIGITS_INPUT],
                      output_names=[models.DIGITS_OUTPUT], dynamic_shapes=({0: torch.export.Dim("batch")},))
print("opset:", inspect.summarize_model(answer_20_2).opsets)

# %% 20.3
import re

import time

first = netron.start(str(cnn_path), address=("127.0.0.1", 0), browse=False)
for attempt in range(10):  # serve() stops the first server, whose thread lets go of the port within 0.25 s
    try:
        netron.start(str(out / "cnn_torchscript.onnx"), address=first, browse=False)
        break
    except OSError as err:
        print(f"attempt {attempt}: {err}")
        time.sleep(0.25)
logging.getLogger().setLevel(logging.WARNING)
page = urllib.request.urlopen(f"http://{first[0]}:{first[1]}/", timeout=5).read().decode("utf-8")
print("serves:", re.search(r'<meta name="file" content="/data/([^"]+)"', page).group(1))
answer_20_3 = page
netron.stop(first)
