# %% 45.1
session = ort.InferenceSession(digits_path, providers=["CPUExecutionProvider"])
nan_image = np.full((1, 1, 8, 8), np.nan, np.float32)
answer_45_1 = int(session.run([DIGITS_OUTPUT], {DIGITS_INPUT: nan_image})[0].argmax(axis=1)[0])

# %% 45.2
ids = digits_table["id"].to_numpy()
answer_45_2 = []
for inputs, outputs in ((ids, ids[1:]), (np.concatenate([ids, ids[:1]]), ids)):
    try:
        sparkh.account_rows(inputs, outputs)
    except sparkh.RowAccountingError as err:
        answer_45_2.append(err)
answer_45_2 = tuple(answer_45_2)
