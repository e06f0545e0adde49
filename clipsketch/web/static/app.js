// clipsketch's page: photos in, one job per photo, its events over server-sent events, results and downloads.
// Standard web APIs only (fetch, FormData, EventSource, SVG), no libraries, no build step.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const FINAL = ["done", "failed", "cancelled"];
const pending = [];          // photos picked, not started yet: {file, url}
const jobs = new Map();      // id -> card state

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function svgEl(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function seconds(s) {
  if (!isFinite(s)) return "";
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// --- the token (off loopback): asked once, kept by the browser as an HttpOnly cookie ---

function askToken() {
  $("#token-form").hidden = false;
  $("#token").focus();
}

async function sendToken(event) {
  event.preventDefault();
  const answer = await fetch("/api/token", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({token: $("#token").value}),
  });
  if (answer.ok) {
    $("#token-form").hidden = true;
    $("#token-error").textContent = "";
    $("#token").value = "";
  } else {
    $("#token-error").textContent = (await answer.json().catch(() => ({}))).error || "refused";
  }
}

async function loadInfo() {
  const answer = await fetch("/api/info");
  const info = await answer.json();
  $("#where").textContent = `Sketching ${info.runs}.`;
  if (info.token_needed && !info.authorized) askToken();
}

// --- picking photos: drop, pick, paste ---

function addPhotos(files) {
  for (const file of files) {
    if (!file.type.startsWith("image/")) continue;
    pending.push({file, url: URL.createObjectURL(file)});
  }
  showPending();
}

function showPending() {
  const list = $("#picked");
  list.replaceChildren();
  pending.forEach((photo, index) => {
    const item = el("li", {class: "thumb"});
    const image = el("img", {src: photo.url, alt: photo.file.name || "pasted photo"});
    const remove = el("button", {type: "button", class: "remove", "aria-label": `remove ${photo.file.name}`}, "×");
    remove.addEventListener("click", () => { pending.splice(index, 1); showPending(); });
    item.append(image, remove);
    list.append(item);
  });
  $("#start").textContent = pending.length > 1 ? `Start ${pending.length} sketches` : "Start";
}

function setUpPicking() {
  const drop = $("#drop");
  $("#photos").addEventListener("change", (event) => { addPhotos(event.target.files); event.target.value = ""; });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addPhotos(event.dataTransfer.files);
  });
  document.addEventListener("dragover", (event) => event.preventDefault());  // a stray drop opens no tab
  document.addEventListener("drop", (event) => event.preventDefault());
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (files.length) addPhotos(files);
  });
}

// --- the form: what a job asks for (clipsketch.web.form reads these fields) ---

function formFields() {
  const form = $("#sketch-form");
  const counts = [...form.querySelectorAll("input[name=count]:checked")].map((box) => box.value);
  const other = $("#other-counts").value.trim();
  const fields = new FormData();
  fields.set("strokes", [...counts, ...(other ? other.split(/[\s,]+/) : [])].join(" "));
  fields.set("line", form.querySelector("input[name=line]:checked").value);
  for (const name of ["mask", "schedule", "seed", "iterations", "seeds", "width"]) {
    fields.set(name, form.elements[name].value);
  }
  fields.set("color", form.elements.color.value);
  const start = $("#start-svg").files[0];
  if (start) {
    fields.set("start", start, start.name);
    fields.set("lock_start", $("#lock-start").checked ? "on" : "off");
  }
  return fields;
}

async function startAll(event) {
  event.preventDefault();
  $("#form-error").textContent = "";
  if (!pending.length) {
    $("#form-error").textContent = "Pick a photo first: drop it above, tap to pick it, or paste it.";
    return;
  }
  if (!formFields().get("strokes").trim()) {
    $("#form-error").textContent = "Choose at least one stroke count (4, 8, 16, 32, or type one).";
    return;
  }
  const photos = pending.splice(0, pending.length);
  showPending();
  photos.forEach((photo, index) => {
    const fields = formFields();
    fields.set("photo", photo.file, photo.file.name || "pasted.png");
    const card = startJob(photo, fields);
    if (index === 0 && window.matchMedia("(max-width: 760px)").matches) {
      card.dataset.scroll = "yes";  // on a phone the cards are below the form: show this one, now and once it runs
      scrollTo(card);
    }
  });
}

// --- one job card ---

function newCard(photo) {
  const card = $("#job-template").content.firstElementChild.cloneNode(true);
  card.classList.add("waiting");  // compact until it runs: the thumbnail names the photo
  $(".name", card).textContent = photo.file.name || "pasted photo";
  $(".job-photo", card).src = photo.url;
  $(".status", card).textContent = "Uploading…";
  $("#jobs").append(card);
  $("#jobs-head").hidden = false;
  $("#empty").hidden = true;
  return card;
}

function scrollTo(card) {
  requestAnimationFrame(() => card.scrollIntoView({block: "start"}));
}

function startJob(photo, fields) {
  const card = newCard(photo);
  send(card, photo, fields);
  return card;
}

async function send(card, photo, fields) {
  const state = {card, photo, counts: {}, current: null, files: null, id: null};
  $(".cancel", card).addEventListener("click", () => state.id ? post(state, "cancel") : card.remove());
  $(".use", card).addEventListener("click", () => post(state, "finish"));
  let answer;
  try {
    answer = await fetch("/api/jobs", {method: "POST", body: fields});
  } catch (error) {
    return fail(state, `the page could not reach its server: ${error.message}`);
  }
  const body = await answer.json().catch(() => ({error: `${answer.status} ${answer.statusText}`}));
  if (!answer.ok) {
    if (answer.status === 401) askToken();
    return fail(state, body.error || `refused (${answer.status})`);
  }
  const job = body.job;
  state.id = job.id;
  state.strokes = job.strokes;
  card.dataset.job = job.id;
  jobs.set(job.id, state);
  const live = $(".live", card);
  live.setAttribute("viewBox", `0 0 ${job.width} ${job.height}`);
  const image = $(".photo", live);
  image.setAttribute("href", photo.url);
  image.setAttribute("width", job.width);
  image.setAttribute("height", job.height);
  $(".status", card).textContent = "Waiting…";
  follow(state);
}

async function post(state, action) {
  const answer = await fetch(`/api/jobs/${state.id}/${action}`, {method: "POST"});
  if (!answer.ok) {
    const body = await answer.json().catch(() => ({}));
    $(".error", state.card).textContent = body.error || `${action} refused`;
  } else if (action === "finish") {
    $(".status", state.card).textContent = "Keeping the strokes so far…";
  }
}

// One event stream for every job of this page (a browser opens at most six connections to a server over
// HTTP/1.1: a stream per photo would block the rest), opened again with each job's next index when jobs change.
let stream = null;
let reconnecting = null;
let failures = 0;

function follow(state) {
  state.next = 0;
  state.following = true;
  clearTimeout(reconnecting);
  reconnecting = setTimeout(connect, 30);  // several photos started at once: one new stream
}

function followed() {
  return [...jobs.values()].filter((state) => state.following);
}

function connect() {
  if (stream) stream.close();
  stream = null;
  const open = followed();
  if (!open.length) return;
  stream = new EventSource(`/api/events?jobs=${open.map((state) => `${state.id}.${state.next}`).join(",")}`);
  stream.onmessage = (message) => {
    failures = 0;
    const event = JSON.parse(message.data);
    const state = jobs.get(event.job);
    if (!state || event.index < state.next) return;  // seen before the stream was opened again
    state.next = event.index + 1;
    handle(state, event);
    if (FINAL.includes(event.type)) state.following = false;
    if (!followed().length && stream) { stream.close(); stream = null; }
  };
  stream.onerror = () => {
    stream.close();
    stream = null;
    if (++failures > 5) {
      for (const state of followed()) {
        state.following = false;
        fail(state, "the connection to the page's server was lost");
      }
      return;
    }
    clearTimeout(reconnecting);
    reconnecting = setTimeout(connect, 1000 * failures);
  };
}

function handle(state, event) {
  const card = state.card;
  const status = $(".status", card);
  switch (event.type) {
    case "queued":
      status.textContent = event.position > 0 ? `In the queue: ${event.position} ahead` : "Next in line";
      break;
    case "started":
      card.classList.remove("waiting");
      if (card.dataset.scroll) scrollTo(card);
      status.textContent = "Starting…";
      break;
    case "progress":
      progress(state, event);
      break;
    case "sketch":
      addResult(state, event);
      break;
    case "done":
      state.files = event.files;
      ended(state, event.kept_early ? `Kept early, ${seconds(event.seconds)}` : `Done in ${seconds(event.seconds)}`);
      showDownloads(state);
      break;
    case "failed":
      ended(state, "Failed");
      $(".error", card).textContent = event.message;
      break;
    case "cancelled":
      ended(state, "Cancelled");
      break;
  }
}

function progress(state, event) {
  const now = performance.now();
  let timing = state.counts[event.count];
  if (!timing) timing = state.counts[event.count] = {start: now, from: event.iteration};
  const index = state.strokes.indexOf(event.count) + 1;
  const of = state.strokes.length > 1 ? ` (${index} of ${state.strokes.length})` : "";
  $(".status", state.card).textContent = `${event.count} strokes${of}: step ${event.iteration} of ${event.iterations}`;
  $(".bar", state.card).value = event.iteration / event.iterations;
  const done = event.iteration - timing.from;
  if (done > 0) {
    const left = (now - timing.start) / 1000 / done * (event.iterations - event.iteration);
    $(".eta", state.card).textContent = `about ${seconds(left)} left for ${event.count} strokes`;
  }
  if (event.preview.length) {
    drawStrokes($(".strokes", state.card), event.preview);
    $(".use", state.card).hidden = false;
  }
}

function drawStrokes(group, paths) {
  group.replaceChildren(...paths.map((p) => p.outline
    ? svgEl("path", {d: p.outline, fill: p.color, "fill-opacity": p.opacity, stroke: "none"})
    : svgEl("path", {d: p.d, fill: "none", stroke: p.color, "stroke-opacity": p.opacity, "stroke-width": p.width,
                     "stroke-linecap": "round", "stroke-linejoin": "round"})));
}

function addResult(state, event) {
  const url = URL.createObjectURL(new Blob([event.svg], {type: "image/svg+xml"}));
  const figure = el("figure", {class: "result", "data-count": event.count});
  figure.append(el("img", {src: url, alt: `the ${event.count}-stroke sketch`}),
                el("figcaption", {}, `${event.count} strokes`));
  const results = $(".results", state.card);
  const after = [...results.children].find((other) => Number(other.dataset.count) > event.count);
  results.insertBefore(figure, after || null);
}

function ended(state, text) {
  const card = state.card;
  $(".status", card).textContent = text;
  $(".eta", card).textContent = "";
  $(".use", card).hidden = true;
  $(".cancel", card).hidden = true;
  $(".bar", card).hidden = true;
  $(".live-side", card).hidden = true;
  card.classList.add("ended");
}

function fail(state, message) {
  ended(state, "Failed");
  $(".error", state.card).textContent = message;
}

function showDownloads(state) {
  const card = state.card;
  const base = `/api/jobs/${state.id}/files/`;
  for (const figure of $(".results", card).children) {
    const names = state.files[figure.dataset.count] || {};
    const links = el("p", {class: "downloads"});
    for (const [kind, label] of [["svg", "SVG"], ["png", "PNG"], ["animated", "animated"]]) {
      if (!names[kind]) continue;
      links.append(el("a", {href: base + encodeURIComponent(names[kind]), download: names[kind],
                            class: `download ${kind}-download`, "data-count": figure.dataset.count}, label));
    }
    figure.append(links);
  }
  $(".zip", card).href = `/api/jobs/${state.id}/zip`;
  $(".job-foot", card).hidden = false;
  updateZipAll();
}

function updateZipAll() {
  const done = [...jobs.values()].filter((state) => state.files).map((state) => state.id);
  const link = $("#zip-all");
  link.hidden = done.length < 2;
  link.href = `/api/zip?jobs=${done.join(",")}`;
}

document.addEventListener("DOMContentLoaded", () => {
  setUpPicking();
  $("#sketch-form").addEventListener("submit", startAll);
  $("#token-form").addEventListener("submit", sendToken);
  loadInfo().catch(() => { $("#where").textContent = ""; });
});
