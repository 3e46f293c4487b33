// neuralpaint studio: the page's behaviour. Plain JavaScript, no build step, nothing from a CDN.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { photo: null, style: "", painting: null, events: null, options: null };

async function api(path, init) {
  const response = await fetch(path, init);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    throw new Error((body && body.error) || `the server answered ${response.status}`);
  }
  return body;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function seconds(s) {
  if (s === null || s === undefined) return "";
  if (s < 60) return `${Math.max(1, Math.round(s))} s left`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s left`;
}

// ---- the form ----------------------------------------------------------------------------------
function thumbButton(label, src, role) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "thumb-button";
  b.setAttribute("role", role);
  b.setAttribute(role === "radio" ? "aria-checked" : "aria-pressed", "false");
  b.setAttribute("aria-label", label);
  b.title = label;
  if (src) {
    const img = document.createElement("img");
    img.src = src; img.alt = ""; img.loading = "lazy";
    b.append(img);
  } else {
    b.classList.add("none");
    b.textContent = "None";
  }
  return b;
}

function choosePhoto(file) {
  state.photo = file;
  $("photo-name").textContent = file ? `${file.name} (${Math.round(file.size / 1024)} KB)` : "";
  const img = $("photo-preview");
  if (file) {
    img.src = URL.createObjectURL(file);
    img.hidden = false;
  }
  showError("");
}

async function setUp() {
  const o = await api("api/options");
  state.options = o;
  const strokes = $("stroke-choices");
  for (const name of o.stroke) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio"; input.name = "stroke"; input.value = name; input.checked = name === o.defaults.stroke;
    label.append(input, name);
    strokes.append(label);
  }
  for (const [id, values, chosen] of [["loss", o.loss, o.defaults.loss], ["mode", o.mode, o.defaults.mode]]) {
    for (const v of values) $(id).append(new Option(v, v, v === chosen, v === chosen));
  }
  for (const field of ["max_strokes", "size", "seed", "min_stroke_size"]) $(field).value = o.defaults[field];
  for (const [field, [low, high]] of Object.entries(o.limits)) {
    const input = $(field);
    if (input) { input.min = low; input.max = high; }
  }
  const samples = $("samples");
  for (const name of o.samples) {
    const b = thumbButton(`Bundled photo: ${name.replace(/\.\w+$/, "")}`, `static/samples/${name}`, "button");
    b.addEventListener("click", async () => {
      const blob = await (await fetch(`static/samples/${name}`)).blob();
      choosePhoto(new File([blob], name, { type: blob.type }));
      for (const other of samples.children) other.setAttribute("aria-pressed", String(other === b));
    });
    samples.append(b);
  }
  const styles = $("styles");  // real radio buttons (arrow keys move between them), pictures as labels
  for (const name of ["", ...o.styles]) {
    const label = document.createElement("label");
    label.className = "thumb-choice";
    label.title = name ? name.replace(/_/g, " ") : "No style";
    const input = document.createElement("input");
    input.type = "radio"; input.name = "style_choice"; input.value = name; input.checked = !name;
    input.addEventListener("change", () => { state.style = name; });
    const text = Object.assign(document.createElement("span"), { className: "visually-hidden",
      textContent: name ? `Style: ${name.replace(/_/g, " ")}` : "No style" });
    const face = name ? Object.assign(document.createElement("img"), { src: `api/styles/${name}`, alt: "", loading: "lazy" })
      : Object.assign(document.createElement("span"), { className: "none", textContent: "None" });
    label.append(input, face, text);
    styles.append(label);
    if (name) $("stylize-style").append(new Option(name.replace(/_/g, " "), name));
  }
  await refreshHistory();
}

function formData() {
  const data = new FormData();
  data.append("image", state.photo);
  const form = $("paint-form");
  data.append("stroke", form.querySelector("input[name=stroke]:checked").value);
  for (const field of ["max_strokes", "size", "seed", "palette", "min_stroke_size", "loss"]) {
    const value = $(field).value;  // the defaults are left out, so the command line shows only what was chosen
    if (value !== "" && String(value) !== String(state.options.defaults[field])) data.append(field, value);
  }
  data.append("opaque", $("opaque").checked);
  data.append("animation", $("animation").checked);
  data.append("svg", "true");
  const styleFile = $("style-input").files[0];
  if (styleFile) data.append("style_image", styleFile);
  else if (state.style) data.append("style", state.style);
  if (styleFile || state.style) data.append("mode", $("mode").value);
  return data;
}

async function paint(event) {
  event.preventDefault();
  showError("");
  if (!state.photo) { showError("Choose a photo first (or a bundled one)."); return; }
  $("paint-button").disabled = true;
  try {
    const job = await api("api/paintings", { method: "POST", body: formData() });
    follow(job);
  } catch (err) {
    showError(err.message);
    $("paint-button").disabled = false;
  }
}

// ---- watching a painting -----------------------------------------------------------------------
function drawFrame(url) {
  const img = new Image();
  img.onload = () => {
    const canvas = $("live-canvas");
    if (canvas.width !== img.width || canvas.height !== img.height) {
      canvas.width = img.width; canvas.height = img.height;
    }
    canvas.getContext("2d").drawImage(img, 0, 0);
    canvas.dataset.frames = String(Number(canvas.dataset.frames) + 1);
  };
  img.src = url;
}

function describe(job) {
  if (job.state === "queued") return job.position ? `Queued: number ${job.position} in line` : "Queued";
  if (job.state === "running") {
    const parts = [job.stage || "starting", `${job.strokes_done} / ${job.strokes_total || "?"} strokes`];
    if (job.seconds_left !== null) parts.push(seconds(job.seconds_left));
    return parts.join(" · ");
  }
  if (job.state === "done") return `Done: ${job.strokes_done} strokes at ${job.width}×${job.height} in ${job.seconds.toFixed(1)} s`;
  if (job.state === "cancelled") return `Stopped: kept the ${job.strokes_done} strokes finished`;
  if (job.state === "interrupted") return "Interrupted: the server stopped while painting it";
  return `Failed: ${job.error}`;
}

function follow(job) {
  if (state.events) state.events.close();
  state.painting = job;
  $("result").hidden = true;
  $("stop-button").disabled = false;
  $("paint-button").disabled = true;
  update(job);
  const events = new EventSource(`api/paintings/${job.id}/events`);
  state.events = events;
  const onEvent = (e) => {
    const current = JSON.parse(e.data);
    if (current.frame) drawFrame(current.frame);
    update(current);
    if (e.type === "done") { events.close(); finished(current); }
  };
  events.addEventListener("progress", onEvent);
  events.addEventListener("done", onEvent);
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED) {
      $("paint-button").disabled = false; $("stop-button").disabled = true;
    }
  };
}

function update(job) {
  state.painting = job;
  $("progress").textContent = describe(job);
  $("progress-bar").value = job.progress || 0;
}

function setLink(id, url) {
  const a = $(id);
  if (url) { a.href = url; a.hidden = false; } else { a.removeAttribute("href"); a.hidden = true; }
  if (a.parentElement.tagName === "LI") a.parentElement.hidden = !url;
}

function finished(job) {
  $("paint-button").disabled = false;
  $("stop-button").disabled = true;
  if (job.state === "failed") showError(job.error);
  showResult(job);
  refreshHistory();
}

function showResult(job) {
  const f = job.files || {};
  if (f["final.png"]) drawFrame(f["final.png"]);
  if (f["input.png"]) { $("photo-preview").src = f["input.png"]; $("photo-preview").hidden = false; }
  setLink("download-png", f["final.png"]);
  setLink("download-svg", f["painting.svg"]);
  setLink("download-strokes", f["strokes.npz"]);
  setLink("download-json", f["strokes.json"]);
  setLink("download-csv", f["strokes.csv"]);
  setLink("download-mp4", f["animated.mp4"]);
  setLink("download-gif", f["animated.gif"]);
  setLink("download-hires", f["hires.png"]);
  $("command").textContent = job.command || "";
  $("result").hidden = !f["final.png"];
}

async function stop() {
  if (!state.painting) return;
  $("stop-button").disabled = true;
  try { await api(`api/paintings/${state.painting.id}`, { method: "DELETE" }); } catch (err) { showError(err.message); }
}

async function renderWidth(event) {
  event.preventDefault();
  if (!state.painting) return;
  const data = new FormData();
  data.append("width", $("render-width").value);
  try {
    const job = await api(`api/paintings/${state.painting.id}/render`, { method: "POST", body: data });
    setLink("download-hires", `${job.files["hires.png"]}?t=${Date.now()}`);
  } catch (err) { showError(err.message); }
}

async function stylize(event) {
  event.preventDefault();
  if (!state.painting) return;
  const data = new FormData();
  data.append("style", $("stylize-style").value);
  data.append("mode", $("mode").value);
  try {
    follow(await api(`api/paintings/${state.painting.id}/stylize`, { method: "POST", body: data }));
  } catch (err) { showError(err.message); }
}

// ---- history -----------------------------------------------------------------------------------
async function refreshHistory() {
  const { paintings } = await api("api/paintings");
  const list = $("history");
  list.replaceChildren();
  for (const job of paintings) {
    const li = document.createElement("li");
    li.className = "card";
    const open = document.createElement("button");
    open.type = "button"; open.className = "open";
    const s = job.settings || {};
    const summary = [s.stroke || "oilpaintbrush", `${s.max_strokes || 500} strokes`, `${s.size || 512} px`].join(" · ");
    open.setAttribute("aria-label", `Open ${job.name}: ${summary}, ${job.state}`);
    const pic = job.files["thumb.jpg"] ? Object.assign(document.createElement("img"), { src: job.files["thumb.jpg"], alt: "" })
      : Object.assign(document.createElement("div"), { className: "blank" });
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.innerHTML = "<strong></strong><span class='settings'></span><br><span class='state'></span>";
    meta.querySelector("strong").textContent = job.name;
    meta.querySelector(".settings").textContent = summary;
    const st = meta.querySelector(".state");
    st.textContent = job.state; st.classList.add(job.state);
    open.append(pic, meta);
    open.addEventListener("click", () => {
      showError(job.state === "failed" ? job.error : "");
      if (job.state === "queued" || job.state === "running") { follow(job); return; }
      update(job); showResult(job); state.painting = job;
    });
    li.append(open);
    list.append(li);
  }
}

// ---- wiring ------------------------------------------------------------------------------------
$("photo-input").addEventListener("change", (e) => choosePhoto(e.target.files[0] || null));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files[0]) choosePhoto(e.dataTransfer.files[0]);
});
$("paint-form").addEventListener("submit", paint);
$("stop-button").addEventListener("click", stop);
$("render-form").addEventListener("submit", renderWidth);
$("stylize-form").addEventListener("submit", stylize);
setUp().catch((err) => showError(err.message));
