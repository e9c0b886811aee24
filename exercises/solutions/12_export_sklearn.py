# Reference solutions of notebooks/12_export_sklearn.ipynb's exercises, filled into the gaps by the runner.
# ruff: noqa: F821, E402 (the names come from the notebook; each cell imports what it adds)

# %% 12.1
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier

forest = RandomForestClassifier(n_estimators=20, random_state=0)  # 20 trees: enough for the lesson, fast
forest_pipe = Pipeline([("prepare", clone(prepare)), ("classifier", forest)]).fit(churn.X_train, churn.y_train)
forest_model = convert_sklearn(forest_pipe, initial_types=initial_types, target_opset=target_opset,
                               options={id(forest): {"zipmap": False}})
answer_12_1 = (forest_pipe, forest_model)

# %% 12.2
import onnxruntime as ort

unseen_feed = {col: row[[col]].to_numpy(np.float32) for col in numeric} | \
              {col: row[[col]].to_numpy().astype(str).astype(object) for col in categorical}
unseen_feed["contract"] = np.array([["ten-year"]], dtype=object)
churn_session = ort.InferenceSession(out / "churn.onnx", providers=["CPUExecutionProvider"])
answer_12_2 = churn_session.run(["probabilities"], unseen_feed)[0]
