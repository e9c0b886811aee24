// The page's logic: onnxruntime-web from the local node_modules, a digit pad, a sentence box, and a small API
// (window.workbook) that notebooks/42_deploy_browser_node.ipynb drives from Python through playwright.
// No build step: an ES module the browser loads as is. URL options (all optional):
//   ?threads=N   wasm threads (1 = none; more need cross-origin isolation, i.e. COOP/COEP headers)
//   ?ep=webgpu,wasm   execution providers to ask for, in order (default: wasm)
//   ?digits=URL  ?minilm=URL  ?tokenizer=URL   the model files (defaults: under /models/)
const params = new URLSearchParams(location.search);
const threads = Number(params.get("threads") || 1);
const providers = (params.get("ep") || "wasm").split(",").filter(Boolean);
const files = {
  digits: params.get("digits") || "/models/digits_cnn.onnx",
  minilm: params.get("minilm") || "/models/minilm.onnx",
  tokenizer: params.get("tokenizer") || "/models/tokenizer.json",
};
// The wasm-only build is smaller; the webgpu build carries both back ends (it is loaded only when asked for).
const bundle = providers.includes("webgpu") ? "ort.webgpu.min.mjs" : "ort.wasm.min.mjs";
const ort = await import(`/node_modules/onnxruntime-web/dist/${bundle}`);
ort.env.wasm.numThreads = threads; // fixed once the first session starts the wasm runtime
const $ = (id) => document.getElementById(id);
const sessions = new Map();

// --- Tensors in and out, as plain JSON ({type, dims, data}) so playwright can pass them ----------------------
function toTensor({ type, dims, data }) {
  const arrays = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array };
  if (!(type in arrays)) throw new Error(`unsupported input type ${type}; use float32, int64, int32 or uint8`);
  const values = type === "int64" ? data.map((v) => BigInt(v)) : data;
  return new ort.Tensor(type, arrays[type].from(values), dims);
}
function fromTensor(t) {
  const data = t.type === "int64" ? Array.from(t.data, (v) => Number(v)) : Array.from(t.data);
  return { type: t.type, dims: Array.from(t.dims), data };
}

async function session(url, options = {}) {
  const key = JSON.stringify([url, options]);
  if (!sessions.has(key)) {
    sessions.set(key, ort.InferenceSession.create(url, { executionProviders: providers, ...options }));
  }
  try {
    return await sessions.get(key);
  } catch (err) {
    sessions.delete(key); // a failed load is not cached: the caller may fix the file and retry
    throw err;
  }
}

async function run(url, feeds, options = {}) {
  const s = await session(url, options);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toTensor(v)]));
  const out = await s.run(inputs);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromTensor(v)]));
}

// Latency of session.run in this page: `warmup` runs first, then `repeat` timed ones (milliseconds each).
async function time(url, feeds, repeat = 20, warmup = 3, options = {}) {
  const s = await session(url, options);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toTensor(v)]));
  for (let i = 0; i < warmup; i++) await s.run(inputs);
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await s.run(inputs);
    times.push(performance.now() - t0);
  }
  return times;
}

// --- A BERT (uncased WordPiece) tokenizer from tokenizer.json, enough for all-MiniLM-L6-v2 ---------------
let vocab = null;
async function loadVocab() {
  if (!vocab) {
    const spec = await (await fetch(files.tokenizer)).json();
    vocab = new Map(Object.entries(spec.model.vocab));
  }
  return vocab;
}
function basicTokens(text) {
  const cleaned = text.replace(/[\u0000\ufffd\p{Cc}]/gu, (c) => (/\s/.test(c) ? " " : ""))
    .replace(/[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]/gu, (c) => ` ${c} `) // CJK: one token each
    .toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, ""); // lower case, accents stripped
  return cleaned.split(/\s+/).filter(Boolean)
    .flatMap((w) => w.split(/([\p{P}$+<=>^`|~])/u).filter(Boolean)); // punctuation is a token of its own
}
function wordPiece(word, v) {
  if (word.length > 100) return [v.get("[UNK]")];
  const ids = [];
  for (let start = 0; start < word.length;) {
    let end = word.length, id;
    for (; end > start; end--) {
      id = v.get((start > 0 ? "##" : "") + word.slice(start, end));
      if (id !== undefined) break;
    }
    if (end === start) return [v.get("[UNK]")];
    ids.push(id);
    start = end;
  }
  return ids;
}
// Token ids, attention mask and token types, padded to the longest sentence (like the Python tokenizer).
async function tokenize(sentences, maxLength = 256) {
  const v = await loadVocab();
  const rows = sentences.map((s) => [v.get("[CLS]"),
    ...basicTokens(s).flatMap((w) => wordPiece(w, v)).slice(0, maxLength - 2), v.get("[SEP]")]);
  const seq = Math.max(...rows.map((r) => r.length));
  const pad = (r, fill) => [...r, ...Array(seq - r.length).fill(fill)];
  const dims = [rows.length, seq];
  return {
    input_ids: { type: "int64", dims, data: rows.flatMap((r) => pad(r, v.get("[PAD]"))) },
    attention_mask: { type: "int64", dims, data: rows.flatMap((r) => pad(r.map(() => 1), 0)) },
    token_type_ids: { type: "int64", dims, data: rows.flatMap((r) => pad(r.map(() => 0), 0)) },
  };
}
// Attention-masked mean pooling, unit length: a sentence embedding from the token vectors.
function meanPool(hidden, mask) {
  const [batch, seq, dim] = hidden.dims;
  const out = [];
  for (let b = 0; b < batch; b++) {
    const e = new Float64Array(dim);
    let n = 0;
    for (let t = 0; t < seq; t++) {
      if (!mask[b * seq + t]) continue;
      n++;
      for (let d = 0; d < dim; d++) e[d] += hidden.data[(b * seq + t) * dim + d];
    }
    const norm = Math.hypot(...e.map((x) => x / n)) || 1;
    out.push(Array.from(e, (x) => x / n / norm));
  }
  return out;
}
async function embed(sentences) {
  const feeds = await tokenize(sentences);
  const out = await run(files.minilm, feeds);
  return meanPool(Object.values(out)[0], feeds.attention_mask.data);
}

// What this page runs on: the answers a notebook (or a person) needs before trusting a latency.
async function info() {
  let adapter = null;
  if (navigator.gpu) {
    try { adapter = await navigator.gpu.requestAdapter(); } catch { adapter = null; }
  }
  return {
    version: ort.env.versions?.web ?? ort.env.versions?.common,
    bundle,
    providers,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    threadsRequested: threads,
    sharedArrayBuffer: typeof SharedArrayBuffer !== "undefined",
    // The runtime's own count, read after the first session started the wasm runtime (null before): where
    // SharedArrayBuffer is unavailable, onnxruntime-web warns on the console and sets env.wasm.numThreads to 1.
    threadsUsed: sessions.size ? ort.env.wasm.numThreads : null,
    hardwareConcurrency: navigator.hardwareConcurrency,
    navigatorGpu: Boolean(navigator.gpu),
    webgpuAdapter: Boolean(adapter),
    userAgent: navigator.userAgent,
  };
}

// Paint an 8x8 image (values in [0, 1]) onto the pad, 20x20 screen pixels per cell, and classify it the way a
// drawing is classified: what the notebook uses to test the page's own input path.
async function showDigit(pixels) {
  const cell = pad.width / 8;
  pixels.forEach((v, i) => {
    const g = Math.round(255 * v);
    ctx.fillStyle = `rgb(${g},${g},${g})`;
    ctx.fillRect((i % 8) * cell, Math.floor(i / 8) * cell, cell, cell);
  });
  await classifyPad();
  return { digit: Number($("digit").textContent), pixels: padPixels() };
}

window.workbook = { ort, files, run, time, tokenize, embed, info, showDigit, showSimilarity, session: async (url, o) => {
  const s = await session(url, o);
  return { inputNames: s.inputNames, outputNames: s.outputNames };
} };

// --- The page a person sees ------------------------------------------------------------------------------
const pad = $("pad"), ctx = pad.getContext("2d");
function clearPad() { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); }
function padPixels() { // 160x160 strokes -> 8x8 mean intensities in [0, 1], like the digits data set
  const img = ctx.getImageData(0, 0, pad.width, pad.height).data, cell = pad.width / 8, px = [];
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) {
    let s = 0;
    for (let y = r * cell; y < (r + 1) * cell; y++) for (let x = c * cell; x < (c + 1) * cell; x++) s += img[(y * pad.width + x) * 4];
    px.push(s / (cell * cell * 255));
  }
  return px;
}
async function classifyPad() {
  const t0 = performance.now();
  const out = await run(files.digits, { [(await session(files.digits)).inputNames[0]]:
    { type: "float32", dims: [1, 1, 8, 8], data: padPixels() } });
  const logits = Object.values(out)[0].data, m = Math.max(...logits);
  const p = logits.map((x) => Math.exp(x - m)), z = p.reduce((a, b) => a + b);
  $("digit").textContent = logits.indexOf(m);
  $("digit-ms").textContent = `(${(performance.now() - t0).toFixed(1)} ms)`;
  $("probs").innerHTML = p.map((x, i) => `<span><b style="height:${Math.round(60 * x / z)}px"></b>${i}</span>`).join("");
}
let drawing = false;
pad.addEventListener("pointerdown", (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(e.offsetX, e.offsetY); });
pad.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  ctx.lineTo(e.offsetX, e.offsetY); ctx.strokeStyle = "#fff"; ctx.lineWidth = 18; ctx.lineCap = "round"; ctx.stroke();
});
pad.addEventListener("pointerup", () => { drawing = false; classifyPad().catch(showError); });
$("clear").addEventListener("click", clearPad);
$("embed").addEventListener("click", () => showSimilarity().catch(showError));
async function showSimilarity() {
  const sentences = $("sentences").value.split("\n").map((s) => s.trim()).filter(Boolean);
  const t0 = performance.now(), e = await embed(sentences);
  $("embed-ms").textContent = `${sentences.length} sentences in ${(performance.now() - t0).toFixed(0)} ms`;
  const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
  $("similarity").innerHTML = `<table><tr><th>cosine similarity to the first line</th><th>sentence</th></tr>${
    sentences.map((s, i) => `<tr><td>${cos(e[0], e[i]).toFixed(3)}</td><td>${s.replace(/</g, "&lt;")}</td></tr>`).join("")}</table>`;
  return { sentences, cosine: e.map((x) => cos(e[0], x)) };
}
function showError(err) { $("status").textContent = `Error: ${err.message ?? err}`; }

clearPad();
const about = await info();
$("status").textContent = `onnxruntime-web ${about.version} (${about.bundle}), providers ${providers.join(", ")}, ` +
  `${threads} wasm thread(s) asked for, cross-origin isolated: ${about.crossOriginIsolated}, ` +
  `WebGPU adapter: ${about.webgpuAdapter ? "yes" : "none"}.`;
window.workbook.ready = true;
