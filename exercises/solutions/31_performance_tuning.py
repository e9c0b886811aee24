# Reference solutions of notebooks/31_performance_tuning.ipynb's exercises (pasted into the gaps by the runner).
# ruff: noqa: F821 (the notebook's variables: these cells run inside it)

# %% 31.1
answer_31_1 = [benchmark.result_row("digits CNN", f"intra_op={n}", b, timed(b, intra_op_threads=n), threads=n)
               for n in (1, 2) for b in (1, 64)]
display(benchmark.rows_table(answer_31_1, title="1 thread against 2"))

# %% 31.2
prof1 = runtime.make_session(cnn, intra_op_threads=threads, profile_prefix=reports_dir() / "profile_digits_b1")
for _ in range(20):
    prof1.run(None, {DIGITS_INPUT: x1})
trace1 = prof1.end_profiling()
answer_31_2 = {"profile": trace1, "costliest": benchmark.summarize_profile(trace1).rows[0]["operator"]}
print("batch 1:", answer_31_2["costliest"], "| batch 64:", costliest.rows[0]["operator"])
