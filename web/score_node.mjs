// Score ONNX models with onnxruntime-node: the Node.js half of notebooks/42_deploy_browser_node.ipynb.
//   node score_node.mjs request.json answer.json
// request.json: {"jobs": [{"model": "/abs/model.onnx", "feeds": {name: {type, dims, data}}, "repeat": 0,
//                          "options": {session options}}]}
// answer.json:  {"version": "1.30.0", "answers": [{inputNames, outputNames, outputs, times_ms} | {error}]}
// A job without feeds only loads the model (a support check). One failing job does not stop the others.
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import ort from "onnxruntime-node";

const [requestPath, answerPath] = process.argv.slice(2);
if (!requestPath || !answerPath) {
  console.error("usage: node score_node.mjs request.json answer.json");
  process.exit(2);
}
const arrays = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array };
const toTensor = ({ type, dims, data }) => {
  if (!(type in arrays)) throw new Error(`unsupported input type ${type}; use float32, int64, int32 or uint8`);
  return new ort.Tensor(type, arrays[type].from(type === "int64" ? data.map(BigInt) : data), dims);
};
const fromTensor = (t) => ({
  type: t.type, dims: Array.from(t.dims), data: t.type === "int64" ? Array.from(t.data, Number) : Array.from(t.data),
});

async function score({ model, feeds, repeat = 0, options = {} }) {
  const session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"], ...options });
  const answer = { inputNames: session.inputNames, outputNames: session.outputNames };
  if (feeds) {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toTensor(v)]));
    const out = await session.run(inputs);
    answer.outputs = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromTensor(v)]));
    answer.times_ms = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      await session.run(inputs);
      answer.times_ms.push(performance.now() - t0);
    }
  }
  await session.release();
  return answer;
}

const { jobs } = JSON.parse(readFileSync(requestPath, "utf8"));
const answers = [];
for (const job of jobs) {
  try {
    answers.push(await score(job));
  } catch (err) {
    answers.push({ error: String(err.message ?? err) });
  }
}
writeFileSync(answerPath, JSON.stringify({ version: ort.env.versions.node, answers }));
