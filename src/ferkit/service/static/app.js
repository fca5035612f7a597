// ferkit web page: plain JavaScript, no build step.
const EMOJI = { angry: "😠", anger: "😠", disgust: "🤢", fear: "😨", happy: "😄", happiness: "😄", sad: "😢",
  sadness: "😢", surprise: "😲", neutral: "😐", contempt: "😒" };
const COLOURS = { angry: "#dc2828", anger: "#dc2828", disgust: "#288c28", fear: "#963c96", happy: "#e0a800",
  happiness: "#e0a800", sad: "#2878c8", sadness: "#2878c8", surprise: "#d070d0", neutral: "#888", contempt: "#b46e3c" };
const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function analyse(blob, name) {
  const form = new FormData();
  form.append("file", blob, name);
  form.append("threshold", $("threshold").value || "0");
  form.append("detector", $("detector").value);
  setStatus(`Analysing ${name}…`);
  const response = await fetch("/api/v1/analyses", { method: "POST", body: form });
  const body = await response.json();
  if (!response.ok) { setStatus(body.detail || `error ${response.status}`, true); return; }
  show(body);
  setStatus(`${body.faces.length} face(s) in ${body.file_name}`);
  loadHistory();
}

function show(analysis) {
  $("result").hidden = false;
  const photo = $("photo");
  photo.src = `/api/v1/analyses/${analysis.id}/image`;
  const svg = $("boxes");
  svg.setAttribute("viewBox", `0 0 ${analysis.width} ${analysis.height}`);
  svg.innerHTML = "";
  const faces = $("faces");
  faces.innerHTML = "";
  for (const face of analysis.faces) {
    const [x1, y1, x2, y2] = face.bbox;
    const colour = COLOURS[face.emotion] || "#999";
    svg.insertAdjacentHTML("beforeend",
      `<rect class="box" x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" stroke="${colour}"></rect>`);
    faces.appendChild(faceCard(face));
  }
}

function faceCard(face) {
  const item = document.createElement("li");
  item.className = "face";
  const top = Object.entries(face.probabilities).sort((a, b) => b[1] - a[1])[0][0];
  const label = face.emotion ? `${EMOJI[face.emotion] || ""} ${face.emotion}` : "below threshold";
  item.innerHTML = `<h3>#${face.face_id} <span class="emoji">${face.emotion ? EMOJI[face.emotion] || "" : ""}</span>
    ${face.emotion || "?"}${face.age_range ? `, age ${face.age_range}` : ""}</h3>`;
  item.setAttribute("aria-label", `face ${face.face_id}: ${label}`);
  for (const [name, p] of Object.entries(face.probabilities)) {
    const row = document.createElement("div");
    row.className = "bar" + (name === top ? " top" : "");
    row.innerHTML = `<span>${name}</span><span class="track"><span class="fill" style="width:${(100 * p).toFixed(1)}%;display:block"></span></span><span>${(100 * p).toFixed(0)}%</span>`;
    item.appendChild(row);
  }
  return item;
}

async function loadHistory() {
  const response = await fetch("/api/v1/analyses?per_page=20");
  if (!response.ok) return;
  const page = await response.json();
  const list = $("history");
  list.innerHTML = "";
  for (const analysis of page.items) {
    const item = document.createElement("li");
    const emotions = analysis.faces.map((f) => EMOJI[f.emotion] || "·").join(" ");
    item.innerHTML = `<img src="${analysis.image_url}" alt=""><span>${analysis.file_name}<br><small>${emotions}</small></span>`;
    item.addEventListener("click", () => show(analysis));
    list.appendChild(item);
  }
}

async function loadExamples() {
  const response = await fetch("/api/v1/examples");
  const select = $("examples");
  for (const example of await response.json()) {
    select.insertAdjacentHTML("beforeend", `<option value="${example.url}">${example.name}</option>`);
  }
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

setUpDrop();
setUpCamera();
loadExamples();
loadHistory();
