"""Every notebook parameter, tried once away from its default (issue: parameters are an interface).

``TRIES`` holds, per notebook, a non-default value from each parameter's stated range: the notebook
must run with those values in quick mode and prove its own claims (its assertions). ``UNTRIED`` names
parameters that cannot run here, with the reason. ``REFUSALS`` holds one out-of-range value per notebook
that has a range to guard: the notebook must stop at once with ``helpers.parameters.check_parameter``'s
message. A parameter in no table fails ``test_parameter_table_covers_every_parameter``.
"""

from __future__ import annotations

from typing import Any

TRIES: dict[str, dict[str, Any]] = {
    "00_start_here": {},
    "01_onnx_basics": {"opset": 19},

    "10_export_pytorch": {"epochs": 3, "opset": 21},
    "11_export_tensorflow": {"epochs": 2, "opset": 15},
    "12_export_sklearn": {"target_opset": 15},

    "13_export_boosting": {"target_opset": 9, "n_estimators": 30, "min_label_agreement": 0.95, "n_splits": 3},
    "14_export_coreml_libsvm": {"target_opset": 9},
    "15_export_chainer": {"epochs": 3, "opset": 10, "old_opset": 8},
    "16_export_mxnet": {"epochs": 3, "opset": 12},
    "17_legacy_models_modern_runtime": {"target_opset": 19},
    "18_export_mlnet": {"n_trees": 30, "onnx_version": "Experimental"},
    "19_mlnet_models_modern_runtime": {},

    "20_visualize_netron": {"height": 300, "calibration_batches": 2},
    "21_pretrained_models": {"timing_runs": 1},
    "30_inference_onnxruntime": {"top": 5},
    "31_performance_tuning": {"threads": 1},

    "32_quantization": {"threads": 1, "seq_len": 32},
    "33_generative_llm": {"steps": 15, "threads": 1, "new_tokens": 16},

    "40_deploy_local_endpoint": {"workers": 1, "max_batch": 16},
    "41_deploy_azureml": {"endpoint_name": "digits-onnx-2", "instance_type": "Standard_F4s_v2", "instance_count": 3},
    "42_deploy_browser_node": {"threads": 3, "seq_len": 16, "timing_runs": 3, "minilm_variant": "int8"},
    "45_batch_scoring_spark": {"master": "local[1]", "digits_rows": 5_000, "sentence_rows": 150, "arrow_batch": 500,
                               "ort_threads": 2, "standalone_cluster": False, "repeats": 1},

    "50_capstone": {"framework": "keras", "epochs": 100},
}

#: (notebook, parameter) -> why it is not tried in the tests.
UNTRIED: dict[tuple[str, str], str] = {
    ("17_legacy_models_modern_runtime", "regenerate_missing"): "False only matters when 15's and 16's files are missing",
    ("19_mlnet_models_modern_runtime", "regenerate_missing"): "False only matters when 18's files are missing",
    ("21_pretrained_models", "online"): "True downloads from Hugging Face; the tests are offline",
    ("21_pretrained_models", "hf_revision"): "used only when online=True",
    ("33_generative_llm", "online"): "True downloads a model from Hugging Face; the tests are offline",
    ("33_generative_llm", "hub_model"): "read only when online=True",
    ("33_generative_llm", "hub_revision"): "read only when online=True",
    ("41_deploy_azureml", "deploy_to_azure"): "True needs an Azure workspace; the tests never use credentials",
    ("41_deploy_azureml", "workspace_config"): "used only when deploy_to_azure=True",
}

#: notebook -> (out-of-range parameters, the parameter the error must name).
REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "01_onnx_basics": ({"opset": 6}, "opset"),  # ONNX Runtime guarantees opset 7 and later
    "10_export_pytorch": ({"opset": 17}, "opset"),  # dynamo=True writes an invalid opset-17 file
    "11_export_tensorflow": ({"opset": 19}, "opset"),  # tf2onnx 1.17 stops at 18
    "12_export_sklearn": ({"target_opset": 22}, "target_opset"),  # skl2onnx 1.20 targets up to 21
    "13_export_boosting": ({"target_opset": 16}, "target_opset"),
    "14_export_coreml_libsvm": ({"target_opset": 17}, "target_opset"),
    "15_export_chainer": ({"opset": 12}, "opset"),
    "16_export_mxnet": ({"opset": 14}, "opset"),
    "17_legacy_models_modern_runtime": ({"target_opset": 12}, "target_opset"),
    "18_export_mlnet": ({"n_trees": 0}, "n_trees"),
    "20_visualize_netron": ({"calibration_batches": 0}, "calibration_batches"),
    "21_pretrained_models": ({"timing_runs": 0}, "timing_runs"),
    "30_inference_onnxruntime": ({"top": 11}, "top"),
    "31_performance_tuning": ({"threads": 0}, "threads"),
    "32_quantization": ({"seq_len": 513}, "seq_len"),
    "33_generative_llm": ({"new_tokens": 500}, "new_tokens"),  # over 200 (the toy model has 512 positions)
    "40_deploy_local_endpoint": ({"workers": 0}, "workers"),
    "41_deploy_azureml": ({"instance_count": 0}, "instance_count"),
    "42_deploy_browser_node": ({"seq_len": 1000}, "seq_len"),
    "45_batch_scoring_spark": ({"arrow_batch": 10}, "arrow_batch"),
}
