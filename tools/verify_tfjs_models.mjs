// Run a TF.js graph model (as shipped, fused nodes intact) on one input tensor with
// TensorFlow.js's CPU backend, and write every output as raw little-endian float32.
// Used by tools/verify_tfjs_models.py; needs `npm install @tensorflow/tfjs@4.22.0` nearby.
//   node verify_tfjs_models.mjs MODEL.json INPUT.raw DTYPE SHAPE(comma) OUT_PREFIX
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";

const [modelJson, inputRaw, dtype, shapeText, outPrefix] = process.argv.slice(2);
const model = JSON.parse(fs.readFileSync(modelJson, "utf8"));
const dir = path.dirname(modelJson);
const specs = [];
const chunks = [];
for (const group of model.weightsManifest) {
  specs.push(...group.weights);
  for (const p of group.paths) chunks.push(fs.readFileSync(path.join(dir, p)));
}
const data = Buffer.concat(chunks);
const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
await tf.setBackend("cpu");
const graph = await tf.loadGraphModel(
  tf.io.fromMemory({ modelTopology: model.modelTopology, weightSpecs: specs, weightData,
                     format: model.format, signature: model.signature }),
);
const shape = shapeText.split(",").map(Number);
const raw = fs.readFileSync(inputRaw);
const values = dtype === "int32"
  ? new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
  : new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const input = tf.tensor(values, shape, dtype);
const names = graph.outputs.map((o) => o.name);
let outputs = graph.execute(input, names);
if (!Array.isArray(outputs)) outputs = [outputs];
for (let i = 0; i < outputs.length; i++) {
  const out = outputs[i];
  const file = `${outPrefix}.${names[i].replace(/[^A-Za-z0-9_]/g, "_")}.raw`;
  fs.writeFileSync(file, Buffer.from((await out.data()).buffer));
  console.log(`${names[i]} ${out.shape.join(",")} ${file}`);
}
