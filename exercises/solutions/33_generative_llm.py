# Reference solutions of notebooks/33_generative_llm.ipynb's exercises (pasted into the gaps by the runner).
# ruff: noqa: F821 (the notebook's variables: these cells run inside it)

# %% 33.1
top1_params, top1_sequences = None, []
for p in exercise_prompts:
    ids = og_tokenizer.encode(p)
    top1_params = og.GeneratorParams(og_model)
    top1_params.set_search_options(do_sample=True, top_k=1, temperature=3.0, random_seed=7, max_length=len(ids) + 20)
    g = og.Generator(og_model, top1_params)
    g.append_tokens(ids)
    while not g.is_done():
        g.generate_next_token()
    top1_sequences.append([int(t) for t in g.get_sequence(0)[len(ids):]])
answer_33_1 = {"search_options": top1_params.get_search_options(), "sequences": top1_sequences}
print([og_tokenizer.decode(s) for s in top1_sequences])

# %% 33.2
block64_dir = out / "toy_llama_int4_block64"
subprocess.run([sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(hf_dir), "-o", str(block64_dir),
                "-p", "int4", "-e", "cpu", "-c", str(out / "builder_cache"), "--extra_options", "block_size=64"],
               check=True, capture_output=True)
answer_33_2 = {"folder": block64_dir, "block_size": 64, "mb": genai.model_files_mb(block64_dir)}
print(f"block 64: {answer_33_2['mb']:.3f} MB; block 32 (the notebook's): {size['int4']:.3f} MB")
