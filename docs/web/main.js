// One photo through an exported .tflite in MediaPipe's web Tasks API, drawn on a canvas.
// The result also goes to <pre id="result"> as JSON and body[data-state] becomes "done" or
// "error" (body[data-error] says why), which is what keras_resnets.export.browser reads.
import { FilesetResolver, ImageClassifier, ImageSegmenter, ObjectDetector } from "@mediapipe/tasks-vision";

const TASKS = ["classification", "detection", "segmentation"];
// The wasm files ship inside the npm package; resolved against the page, so any folder works.
const WASM = new URL("./node_modules/@mediapipe/tasks-vision/wasm", document.baseURI).href;
// CIFAR photos are 32 px: draw small photos bigger, pixel for pixel, so a person can see them.
const MIN_SIDE = 256;
const PALETTE = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255],
  [170, 110, 40], [255, 250, 200], [128, 0, 0], [170, 255, 195], [128, 128, 0], [255, 215, 180],
  [0, 0, 128], [128, 128, 128],
];

const $ = (id) => document.getElementById(id);
const colour = (i) => PALETTE[((Number(i) % PALETTE.length) + PALETTE.length) % PALETTE.length] || PALETTE[0];
let vision = null;

function setState(state, message) {
  document.body.dataset.state = state;
  $("status").textContent = message;
}

function fail(error) {
  const message = String(error && error.message ? error.message : error);
  document.body.dataset.error = message;
  $("result").textContent = JSON.stringify({ error: message }, null, 2);
  setState("error", `failed: ${message}`);
  console.error(error);
}
window.addEventListener("error", (event) => fail(event.error || event.message));
window.addEventListener("unhandledrejection", (event) => fail(event.reason));

async function loadImage(src) {
  const image = new Image();
  image.crossOrigin = "anonymous"; // MediaPipe reads the pixels through WebGL: a photo from another host needs CORS
  image.src = src;
  await image.decode(); // rejects for a missing or undecodable file
  return image;
}

function categories(list) {
  return list.map((c) => ({
    index: c.index, name: c.categoryName || c.displayName || String(c.index), score: c.score,
  }));
}

async function createTask(task, baseOptions, maxResults) {
  const common = { baseOptions, runningMode: "IMAGE" };
  if (task === "classification") return ImageClassifier.createFromOptions(vision, { ...common, maxResults });
  if (task === "detection") return ObjectDetector.createFromOptions(vision, { ...common, maxResults });
  const masks = { outputCategoryMask: true, outputConfidenceMasks: false };
  return ImageSegmenter.createFromOptions(vision, { ...common, ...masks });
}

function run(task, runner, image) {
  if (task === "classification") {
    const [head] = runner.classify(image).classifications;
    return { categories: categories(head.categories) };
  }
  if (task === "detection") {
    const detections = runner.detect(image).detections.map((d) => ({
      box: { x: d.boundingBox.originX, y: d.boundingBox.originY,
             width: d.boundingBox.width, height: d.boundingBox.height },
      categories: categories(d.categories),
    }));
    return { detections };
  }
  const result = runner.segment(image);
  const mask = result.categoryMask;
  const values = Array.from(mask.getAsUint8Array());
  const labels = runner.getLabels();
  const counts = {};
  for (const v of values) counts[labels[v] || v] = (counts[labels[v] || v] || 0) + 1;
  const out = { width: mask.width, height: mask.height, labels, counts, mask: values };
  result.close();
  return out;
}

// The web ObjectDetector names a detection's class but gives index -1: a colour per name.
function nameColours(detections) {
  const colours = new Map();
  for (const d of detections) {
    const name = d.categories[0]?.name ?? "?";
    if (!colours.has(name)) colours.set(name, colour(colours.size));
  }
  return colours;
}

const swatch = ([r, g, b]) => `<span class="bar" style="width:12px;background:rgb(${r},${g},${b})"></span>`;

function draw(task, image, result) {
  const scale = Math.max(1, Math.floor(MIN_SIDE / Math.max(image.naturalWidth, image.naturalHeight)));
  const width = image.naturalWidth * scale;
  const height = image.naturalHeight * scale;
  const rows = task === "classification" ? Math.min(3, result.categories.length) : 0;
  const canvas = $("canvas");
  canvas.width = Math.max(width, 256);
  canvas.height = height + rows * 26 + (rows ? 8 : 0);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, 0, 0, width, height);
  ctx.font = "bold 15px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  if (task === "classification") {
    result.categories.slice(0, 3).forEach((c, i) => {
      const y = height + 8 + i * 26;
      ctx.fillStyle = "#dde8f8";
      ctx.fillRect(0, y, canvas.width, 22);
      ctx.fillStyle = i === 0 ? "#2a7ae2" : "#8fb4ea";
      ctx.fillRect(0, y, canvas.width * c.score, 22);
      ctx.fillStyle = "#111";
      ctx.fillText(`${c.name}  ${(100 * c.score).toFixed(1)}%`, 6, y + 11);
    });
  } else if (task === "detection") {
    const colours = nameColours(result.detections);
    result.detections.forEach((d) => {
      const name = d.categories[0]?.name ?? "?";
      const [r, g, b] = colours.get(name);
      const { x, y, width: w, height: h } = d.box;
      ctx.strokeStyle = `rgb(${r},${g},${b})`;
      ctx.lineWidth = 3;
      ctx.strokeRect(x * scale, y * scale, w * scale, h * scale);
      const label = `${name} ${(100 * (d.categories[0]?.score ?? 0)).toFixed(0)}%`;
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(x * scale, Math.max(0, y * scale - 20), ctx.measureText(label).width + 8, 20);
      ctx.fillStyle = "#000";
      ctx.fillText(label, x * scale + 4, Math.max(10, y * scale - 10));
    });
  } else {
    // The mask comes at the photo's size; colour it there, then stretch it over the drawing.
    const overlay = new OffscreenCanvas(result.width, result.height);
    const pixels = new ImageData(result.width, result.height);
    result.mask.forEach((v, i) => {
      const [r, g, b] = colour(v);
      pixels.data.set([r, g, b, 130], 4 * i);
    });
    overlay.getContext("2d").putImageData(pixels, 0, 0);
    ctx.drawImage(overlay, 0, 0, width, height);
  }
  summarize(task, result);
}

function summarize(task, result) {
  const rows = [];
  if (task === "classification") {
    result.categories.slice(0, 3).forEach((c) => rows.push([c.name, `${(100 * c.score).toFixed(2)}%`]));
  } else if (task === "detection") {
    const colours = nameColours(result.detections);
    result.detections.forEach((d) => {
      const name = d.categories[0]?.name ?? "?";
      rows.push([`${swatch(colours.get(name))} ${name}`, `${(100 * (d.categories[0]?.score ?? 0)).toFixed(1)}%`]);
    });
  } else {
    const total = result.width * result.height;
    Object.entries(result.counts).sort((a, b) => b[1] - a[1]).forEach(([name, n]) => {
      const share = `${(100 * n / total).toFixed(1)}% of pixels`;
      rows.push([`${swatch(colour(result.labels.indexOf(name)))} ${name}`, share]);
    });
  }
  $("summary").innerHTML = `<table>${rows.map((r) => `<tr><td>${r[0]}</td><td>${r[1]}</td></tr>`).join("")}</table>`;
}

async function start({ task, model, image, modelName, imageName, maxResults }) {
  if (!TASKS.includes(task)) throw new Error(`task must be one of ${TASKS.join(", ")}, not "${task}"`);
  setState("running", `running ${modelName} on ${imageName} (${task})…`);
  vision = vision || (await FilesetResolver.forVisionTasks(WASM));
  const runner = await createTask(task, model, maxResults);
  const photo = await loadImage(image);
  const result = run(task, runner, photo);
  runner.close();
  draw(task, photo, result);
  const out = {
    task, model: modelName, image: { name: imageName, width: photo.naturalWidth, height: photo.naturalHeight },
    ...result,
  };
  $("result").textContent = JSON.stringify(out, null, 2);
  // No timings: headless Chromium's --virtual-time-budget runs a virtual clock (it read 0 ms).
  setState("done", `${modelName} on ${imageName} (${task}): done`);
}

const params = new URLSearchParams(location.search);
$("task").value = params.get("task") || "classification";
$("chooser").addEventListener("submit", (event) => {
  event.preventDefault();
  const modelFile = $("model-file").files[0];
  const imageFile = $("image-file").files[0];
  if (!modelFile || !imageFile) return fail("pick a .tflite and a photo");
  delete document.body.dataset.error;
  modelFile.arrayBuffer().then((buffer) => start({
    task: $("task").value, model: { modelAssetBuffer: new Uint8Array(buffer), delegate: "CPU" },
    image: URL.createObjectURL(imageFile), modelName: modelFile.name, imageName: imageFile.name, maxResults: 3,
  })).catch(fail);
});
if (params.get("model") && params.get("image")) {
  start({
    task: params.get("task") || "classification",
    model: { modelAssetPath: params.get("model"), delegate: params.get("delegate") || "CPU" },
    image: params.get("image"), modelName: params.get("model"), imageName: params.get("image"),
    maxResults: Number(params.get("max_results") || 3),
  }).catch(fail);
} else {
  setState("idle", "pick a .tflite exported with MediaPipe metadata and a photo, then Run");
}
