# ruff: noqa: F821, E402, I001  (cells pasted into the notebook: its names and imports are in scope there)
# Reference solutions of notebooks/18_export_mlnet.ipynb (mlnet kernel); the runner pastes each cell into its gap.

# %% 18.1
from nimbusml.linear_model import LogisticRegressionBinaryClassifier

from helpers.paths import models_dir

mine = models_dir("mlnet_exercises")  # not next to the files notebook 19 reads

linear = Pipeline([
    OneHotVectorizer() << categorical,
    MinMaxScaler() << numeric,
    LogisticRegressionBinaryClassifier(feature=numeric + categorical, label="churn"),
])
linear.fit(train, verbose=0)
answer_18_1 = mine / "churn_linear.onnx"
linear.export_to_onnx(str(answer_18_1), "com.microsoft.ml", onnx_version=onnx_version)

# %% 18.2
from helpers.paths import models_dir

answer_18_2 = models_dir("mlnet_exercises") / "churn_fasttree_answers_only.onnx"
classifier.export_to_onnx(str(answer_18_2), "com.microsoft.ml", onnx_version=onnx_version,
                          outputs_to_drop=numeric + categorical)

# %% 18.3
import json

from helpers.paths import models_dir

mine = models_dir("mlnet_exercises")
classifier.export_to_onnx(str(mine / "churn_experimental.onnx"), "com.microsoft.ml", onnx_version="Experimental",
                          dst_json=str(mine / "churn_experimental.json"))
graph = json.loads((mine / "churn_experimental.json").read_text())["graph"]
answer_18_3 = {node["opType"] for node in graph["node"]}
