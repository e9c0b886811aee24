# Reference solutions of notebooks/14_export_coreml_libsvm.ipynb's exercises, pasted into its gaps by the runner.
# ruff: noqa: F821 (the notebook's variables)

# %% 14.1
svc_prob = svmutil.svm_train(y_svm.astype(np.float64), X_svm, "-s 0 -t 2 -c 1 -b 1 -q")
prob_labels, _, prob_scores = svmutil.svm_predict(np.zeros(len(iris.X_test)), iris.X_test.astype(np.float64), svc_prob, "-b 1 -q")
onnx_prob = wa.fix_libsvm_class_labels(convert_libsvm(
    svc_prob, "iris_svc_prob", initial_types=[("input", FloatTensorType([None, 4]))], target_opset=target_opset), svc_prob)
prob_out = verify.run_onnx(onnx_prob, {"input": iris.X_test})
print("largest probability difference:", np.abs(prob_out["probabilities"] - np.asarray(prob_scores)).max())
answer_14_1 = (svc_prob, onnx_prob, float(np.mean(prob_out["label"].ravel() == np.asarray(prob_labels))))

# %% 14.2
firsts = [int(np.flatnonzero(y_svm == c)[0]) for c in (0, 1, 2)]  # one row of each class first, in label order
order = np.concatenate([firsts, np.setdiff1d(np.arange(len(y_svm)), firsts)])
svc_sorted = svmutil.svm_train(y_svm[order].astype(np.float64), X_svm[order], "-s 0 -t 2 -c 1 -q")
print("LIBSVM's class order:", svc_sorted.get_labels())
answer_14_2 = (svc_sorted, convert_libsvm(svc_sorted, "iris_svc_sorted", initial_types=[("input", FloatTensorType([None, 4]))],
                                          target_opset=target_opset))
