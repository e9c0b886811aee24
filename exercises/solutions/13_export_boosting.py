# Reference solutions of notebooks/13_export_boosting.ipynb's exercises, pasted into its gaps by the runner.
# ruff: noqa: F821 (the notebook's variables)

# %% 13.1
lgb_coarse = LGBMClassifier(num_leaves=15, max_bin=15, verbose=-1, **settings).fit(X_train, churn.y_train)
coarse = classic.split_thresholds(lgb_coarse)
moved_coarse = sum(int((t.astype(np.float32) != t).sum()) for t in coarse.values())
print(f"max_bin=15: {moved_coarse} of {sum(map(len, coarse.values()))} distinct thresholds move (default bins: {moved})")
answer_13_1 = (lgb_coarse, moved_coarse)

# %% 13.2
X_off = X_test.astype(np.float64) + 1e-9  # a hair off: cast to float32, these values round back to X_test
thresholds = classic.split_thresholds(lgb_clf)  # {feature: LightGBM's float64 thresholds}
X_on = X_test.astype(np.float64)
features = sorted(thresholds)
for i in range(len(X_on)):  # one value of each row exactly on a threshold: LightGBM sends it left
    f = features[i % len(features)]
    X_on[i, f] = thresholds[f][i % len(thresholds[f])]
float64_model = paths["lightgbm", "classifier (float64 thresholds)"]
rounded_model = paths["lightgbm", "classifier (float32 thresholds rounded down)"]
shares = {}
for name, X64 in (("a hair off", X_off), ("on the thresholds", X_on)):
    want = lgb_clf.predict_proba(X64)
    shares[name] = {
        "float64 thresholds": classic.rows_outside_tolerance(
            want, verify.run_onnx(float64_model, [X64])["probabilities"]),
        "float32 thresholds rounded down": classic.rows_outside_tolerance(
            want, verify.run_onnx(rounded_model, [X64.astype(np.float32)])["probabilities"]),
    }
print(shares)  # float64 holds for any input; rounding down is exact for float32 inputs only
answer_13_2 = (X_on, shares["on the thresholds"])

# %% 13.3
scaler64 = StandardScaler().fit(X_train.astype(np.float64))
X_train_scaled = scaler64.transform(X_train.astype(np.float64)).astype(np.float32)
X_test_scaled = scaler64.transform(X_test.astype(np.float64)).astype(np.float32)
xgb_scaled = XGBClassifier(max_depth=4, **settings).fit(X_train_scaled, churn.y_train)
xgb_scaled_onnx = onnxmltools.convert_xgboost(xgb_scaled, initial_types=churn_input, target_opset=target_opset)
print(classic.tree_parity(xgb_scaled.predict_proba(X_test_scaled),
                          verify.run_onnx(xgb_scaled_onnx, [X_test_scaled])["probabilities"]))
answer_13_3 = (xgb_scaled, X_test_scaled)  # no flips: preprocess once, outside, and feed both the same float32 rows
