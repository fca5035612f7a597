// ferkit web page: plain JavaScript, no build step. Every value from the server or a user is put into the
// page as text (textContent, attributes set one by one): no HTML is ever built from data.
const EMOJI = { angry: "😠", anger: "😠", disgust: "🤢", fear: "😨", happy: "😄", happiness: "😄", sad: "😢",
  sadness: "😢", surprise: "😲", neutral: "😐", contempt: "😒" };
const COLOURS = { angry: "#dc2828", anger: "#dc2828", disgust: "#288c28", fear: "#963c96", happy: "#e0a800",
  happiness: "#e0a800", sad: "#2878c8", sadness: "#2878c8", surprise: "#d070d0", neutral: "#888", contempt: "#b46e3c" };
const SVG = "http://www.w3.org/2000/svg";
const KEY_STORAGE = "ferkit-api-key";  // sessionStorage: the key lasts as long as the tab, not on disk
const $ = (id) => document.getElementById(id);
let historyUrls = [];  // object URLs of the thumbnails, released when the list is drawn again
let photoUrl = null;

function element(tag, { className, text, attributes = {} } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function keyHeaders() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { "X-API-Key": key } : {};
}

// A request to the API; any answer that is not ok becomes an Error with a readable message, whether the body
// is ferkit's JSON or a proxy's HTML page.
async function request(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...keyHeaders(), ...(options.headers || {}) } });
  if (response.ok) return response;
  if (response.status === 401) showKeyForm();
  let detail = "";
  if ((response.headers.get("content-type") || "").includes("application/json")) {
    detail = await response.json().then((body) => body.detail, () => "");
  }
  throw new Error(typeof detail === "string" && detail ? detail : `the server answered ${response.status} ${response.statusText}`.trim());
}

// Images come through fetch, not <img src>, so a locked server's key goes with them.
async function imageUrl(path) {
  return URL.createObjectURL(await (await request(path)).blob());
}

async function analyse(blob, name) {
  const form = new FormData();
  form.append("file", blob, name);
  form.append("threshold", $("threshold").value || "0");
  form.append("detector", $("detector").value);
  if ($("views").value) form.append("views", $("views").value);
  setStatus(`Analysing ${name}…`);
  try {
    const analysis = await (await request("/api/v1/analyses", { method: "POST", body: form })).json();
    await show(analysis);
    setStatus(`${analysis.faces.length} face(s) in ${analysis.file_name}`);
    loadHistory();
  } catch (error) {
    setStatus(error.message, true);
  }
}

async function show(analysis) {
  $("result").hidden = false;
  const svg = $("boxes");
  svg.setAttribute("viewBox", `0 0 ${analysis.width} ${analysis.height}`);
  svg.replaceChildren(...analysis.faces.map(faceBox));
  $("faces").replaceChildren(...analysis.faces.map(faceCard));
  const previous = photoUrl;
  photoUrl = await imageUrl(analysis.image_url);
  $("photo").src = photoUrl;
  if (previous) URL.revokeObjectURL(previous);
}

function faceBox(face) {
  const [x1, y1, x2, y2] = face.bbox;
  const rect = document.createElementNS(SVG, "rect");
  const box = { x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: COLOURS[face.emotion] || "#999" };
  for (const [name, value] of Object.entries(box)) rect.setAttribute(name, value);
  rect.setAttribute("class", "box");
  return rect;
}

function faceCard(face) {
  const top = Object.entries(face.probabilities).sort((a, b) => b[1] - a[1])[0][0];
  const emoji = face.emotion ? EMOJI[face.emotion] || "" : "";
  const title = `${face.emotion || "?"}${face.age_range ? `, age ${face.age_range}` : ""}`;
  const heading = element("h3", { text: `#${face.face_id} ` }, [element("span", { className: "emoji", text: emoji }), ` ${title}`]);
  const label = face.emotion ? `${emoji} ${face.emotion}` : "below threshold";
  const item = element("li", { className: "face", attributes: { "aria-label": `face ${face.face_id}: ${label}` } }, [heading]);
  for (const [name, p] of Object.entries(face.probabilities)) {
    const fill = element("span", { className: "fill" });
    fill.style.width = `${(100 * p).toFixed(1)}%`;  // CSSOM, which the page's style policy allows
    item.append(element("div", { className: name === top ? "bar top" : "bar" }, [
      element("span", { text: name }), element("span", { className: "track" }, [fill]),
      element("span", { text: `${(100 * p).toFixed(0)}%` })]));
  }
  return item;
}

async function loadHistory() {
  let page;
  try {
    page = await (await request("/api/v1/analyses?per_page=20")).json();
  } catch (error) {
    return;  // a locked server: the key form is showing
  }
  historyUrls.forEach((url) => URL.revokeObjectURL(url));
  historyUrls = [];
  const items = page.items.map((analysis) => {
    const thumbnail = element("img", { attributes: { alt: "" } });
    imageUrl(analysis.image_url).then((url) => { historyUrls.push(url); thumbnail.src = url; }, () => {});
    // The listing counts faces per emotion; the faces themselves come from the analysis's own URL on a click.
    const emotions = Object.entries(analysis.emotions)
      .map(([emotion, count]) => `${EMOJI[emotion] || "·"}${count > 1 ? "×" + count : ""}`).join(" ");
    const text = element("span", { text: analysis.file_name }, [element("br"), element("small", { text: emotions })]);
    const item = element("li", { attributes: { tabindex: "0" } }, [thumbnail, text]);
    item.addEventListener("click", async () => {
      try {
        await show(await (await request(analysis.url)).json());
      } catch (error) {
        setStatus(error.message, true);
      }
    });
    return item;
  });
  $("history").replaceChildren(...items);
}

// The form's controls, from the definitions the server checks uploads with.
async function loadOptions() {
  try {
    const options = await (await request("/api/v1/options")).json();
    for (const name of ["detector", "views"]) {
      const { choices, default: chosen, help } = options[name];
      $(name).replaceChildren(...choices.map((choice) => element("option", { text: choice, attributes: { value: choice } })));
      $(name).value = chosen;
      $(name).title = help;
    }
    const threshold = options.threshold;
    for (const [attribute, value] of [["min", threshold.minimum], ["max", threshold.maximum], ["value", threshold.default]]) {
      $("threshold").setAttribute(attribute, String(value));
    }
    $("threshold").title = threshold.help;
  } catch (error) {
    if ($("key-form").hidden) setStatus(error.message, true);  // a locked server has asked for its key instead
  }
}

async function loadExamples() {
  const select = $("examples");
  try {
    const examples = await (await request("/api/v1/examples")).json();
    select.replaceChildren(select.options[0], ...examples.map((example) =>
      element("option", { text: example.name, attributes: { value: example.url } })));
  } catch (error) {
    return;
  }
}

function showKeyForm() {
  $("key-form").hidden = false;
  setStatus("This server needs an API key: enter it above.", true);
}

function setUpKeyForm() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    $("api-key").value = "";
    $("key-form").hidden = true;
    setStatus("Key saved for this tab.");
    loadOptions();
    loadExamples();
    loadHistory();
  });
}

function setUpExamples() {
  const select = $("examples");
  select.addEventListener("change", async () => {
    if (!select.value) return;
    const blob = await (await fetch(select.value)).blob();
    analyse(blob, select.value.split("/").pop());
  });
}

function setUpDrop() {
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) analyse(file, file.name);
  });
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) analyse(file, file.name);
  });
}

function setUpCamera() {
  const video = $("video");
  $("camera").addEventListener("click", async () => {
    if (video.hidden) {
      try {
        video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
        video.hidden = false;
        $("camera").textContent = "Take snapshot";
      } catch (error) { setStatus(`No camera: ${error.message}`, true); }
      return;
    }
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => analyse(blob, "webcam.jpg"), "image/jpeg", 0.92);
  });
}

setUpKeyForm();
setUpExamples();
setUpDrop();
setUpCamera();
loadOptions();
loadExamples();
loadHistory();
