"""The real calls stay on screen: each notebook writes out its library's central API in a code cell.

A reader copies a cell into their own project, and an instructor points at the line that matters, so
the first use of a library's central call is written out with its arguments, not hidden in ``helpers``.
This table names, per notebook, what its code cells must contain (regular expressions).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

REQUIRED_CALLS: dict[str, list[str]] = {
    "01_onnx_basics": [r"\.run\(", r"np\.testing\.assert_allclose\("],
    "10_export_pytorch": [
        r"torch\.onnx\.export\(", r"dynamo=True", r"dynamo=False", r"dynamic_shapes", r"torch\.export\.Dim",
        r"dynamic_axes", r"input_names", r"output_names", r"opset_version", r"\.optimize\(\)", r"\.save\(",
        r"onnx\.helper\.set_model_props\(", r"np\.testing\.assert_allclose\(",
    ],
    "11_export_tensorflow": [
        r"tf2onnx\.convert\.from_keras\(", r"input_signature", r"tf2onnx\.convert\.from_function\(",
        r"-m tf2onnx\.convert",
    ],
    "12_export_sklearn": [r"ColumnTransformer\(", r"initial_types"],
    "13_export_boosting": [
        r"onnxmltools\.convert_xgboost\(", r"onnxmltools\.convert_lightgbm\(", r"save_model\([^)]*format=\"onnx\"",
    ],
    "14_export_coreml_libsvm": [r"convert_coreml\(", r"convert_libsvm\("],
    "16_export_mxnet": [r"MXNetGraph"],
    "17_legacy_models_modern_runtime": [r"version_converter\.convert_version\("],
    "20_visualize_netron": [r"netron\.start\(", r"browse=False", r"IFrame\("],
    "21_pretrained_models": [r"hf_hub_download\(", r"revision=", r"sha256"],
    "30_inference_onnxruntime": [r"\.get_modelmeta\(\)"],
    "31_performance_tuning": [
        r"ort\.SessionOptions\(\)", r"intra_op_num_threads", r"inter_op_num_threads", r"execution_mode",
        r"graph_optimization_level", r"optimized_model_filepath", r"enable_profiling", r"enable_cpu_mem_arena",
        r"session\.intra_op\.allow_spinning",
    ],
    "32_quantization": [
        r"quant_pre_process\(", r"quantize_dynamic\(", r"CalibrationDataReader", r"quantize_static\(",
        r"convert_float_to_float16\(", r"optimize_model\(", r"qdq_loss_debug",
    ],
    "33_generative_llm": [
        r"BpeTrainer\(", r"PreTrainedTokenizerFast\(", r"LlamaConfig\(", r"LlamaForCausalLM\(", r"save_pretrained\(",
        r"\"onnxruntime_genai\.models\.builder\"", r"\"-p\", precision", r"og\.Model\(", r"og\.Tokenizer\(",
        r"og\.GeneratorParams\(", r"og\.Generator\(", r"\.append_tokens\(", r"\.generate_next_token\(\)",
        r"\.create_stream\(\)", r"set_search_options\(", r"temperature", r"top_k", r"top_p", r"apply_chat_template\(",
        r"generate\([^)]*do_sample=False", r"past_key_values", r"present", r"InferenceSession\(",
    ],
    "40_deploy_local_endpoint": [r"azmlinfsrv --entry_script", r"--model_dir", r"--port", r"def init\(", r"def run\("],
    "42_deploy_browser_node": [
        r"convert_onnx_models_to_ort", r"subprocess\.run\(\[\"node\"",
    ],
    "45_batch_scoring_spark": [
        r"mapInPandas\(", r"addFile\(", r"SparkFiles\.get\(", r"maxRecordsPerBatch", r"BatchEndpoint\(",
        r"ModelBatchDeployment\(", r"ModelBatchDeploymentSettings\(",
    ],
    "41_deploy_azureml": [
        r"\bModel\(", r"\bEnvironment\(", r"ManagedOnlineEndpoint\(", r"ManagedOnlineDeployment\(",
    ],
}


def code_of(stem: str) -> str:
    """All code cells of a notebook, joined (shell lines included)."""
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def missing_calls(code: str, patterns: list[str]) -> list[str]:
    """The patterns that no code cell matches."""
    return [p for p in patterns if not re.search(p, code)]


@pytest.mark.parametrize("stem", sorted(REQUIRED_CALLS))
def test_notebook_shows_its_central_calls_in_code_cells(stem):
    missing = missing_calls(code_of(stem), REQUIRED_CALLS[stem])
    assert not missing, f"{stem} must show these calls in a code cell: {missing}"


def test_missing_call_is_reported():
    code = "session = ort.InferenceSession(path)\nexport.export_torch(model)\n"
    assert missing_calls(code, [r"torch\.onnx\.export\(", r"InferenceSession\("]) == [r"torch\.onnx\.export\("]
