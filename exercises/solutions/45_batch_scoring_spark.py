# Reference solutions of notebooks/45_batch_scoring_spark.ipynb's exercises (pasted into the gaps by the runner).
# ruff: noqa: F821, E402 (the notebook's variables: these cells run inside it)

# %% 45.1
session = ort.InferenceSession(digits_path, providers=["CPUExecutionProvider"])
nan_image = np.full((1, 1, 8, 8), np.nan, np.float32)
nan_logits = session.run([DIGITS_OUTPUT], {DIGITS_INPUT: nan_image})[0]
answer_45_1 = {"logits": nan_logits, "label": int(nan_logits.argmax(axis=1)[0])}
print(answer_45_1)

# %% 45.2
from pyspark import TaskContext


def frame_sizes(batches):
    """One row per pandas frame this task received: its partition and its length."""
    for pdf in batches:
        yield pd.DataFrame({"partition": [TaskContext.get().partitionId()], "rows": [len(pdf)]})


probe = sparkh.spark_session("local[2]", app_name="frames", arrow_batch=1_000)  # maxRecordsPerBatch = 1,000
seen = probe.read.parquet(str(out / "input" / "digits")).mapInPandas(frame_sizes, "partition int, rows long").toPandas()
sparkh.stop_session(probe)
answer_45_2 = {"max_records": 1_000, "batches": list(zip(seen["partition"], seen["rows"]))}
print(seen.groupby("partition")["rows"].agg(["count", "sum", "min", "max"]))
