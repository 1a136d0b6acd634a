// Classify: one face at a time, keyboard first, never waiting and never losing an answer.
//
// The page always holds the face on screen and one more in reserve (prefetched). An answer
// moves on at once; the request goes through an outbox kept in localStorage and sent in
// order, each with a request id made here, so a retry after a lost connection is stored once.
import { placeBox, placeCrop } from "./crops.js";
import { newRequestId, Offline, requestJson, SessionEnded } from "./http.js";

const root = document.getElementById("classify");
const text = root.dataset;
const elements = {
  stage: document.getElementById("stage"),
  bar: document.getElementById("answer-bar"),
  crop: document.getElementById("crop"),
  caption: document.getElementById("face-caption"),
  photo: document.getElementById("photo"),
  image: document.getElementById("photo-img"),
  boxes: document.getElementById("boxes"),
  drawing: document.getElementById("drawing"),
  link: document.getElementById("file-link"),
  status: document.getElementById("status"),
  alert: document.getElementById("alert"),
  undoOnly: document.getElementById("undo-only"),
  count: document.getElementById("answered-count"),
};
const OUTBOX_KEY = `wikivisage-outbox-${text.project}`;
const MAX_EXCLUDE = 200;
const RESERVE = 1;

const state = {
  current: JSON.parse(document.getElementById("first-question").textContent),
  queue: [],
  outbox: loadOutbox(),
  sending: false,
  fetching: false,
  exhausted: false,
  mode: null, // "draw" | "correct" while a box is being drawn
  box: null, // the box being drawn, in fractions of the photo
  answered: 0,
};

// --- the outbox ---------------------------------------------------------------------------

function loadOutbox() {
  try {
    return JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]");
  } catch {
    return [];
  }
}

function saveOutbox() {
  try {
    localStorage.setItem(OUTBOX_KEY, JSON.stringify(state.outbox));
  } catch {
    // Private mode without storage: the outbox lives as long as the page.
  }
}

function send(kind, body, holds = []) {
  state.outbox.push({ kind, body, holds });
  saveOutbox();
  drain();
}

/** Faces the browser shows or is still sending: the server must not serve them again. */
function held() {
  const ids = [];
  if (state.current) ids.push(state.current.face.id);
  state.queue.forEach((q) => ids.push(q.face.id));
  state.outbox.forEach((item) => ids.push(...item.holds));
  return [...new Set(ids)].slice(-MAX_EXCLUDE);
}

async function drain() {
  if (state.sending) return;
  state.sending = true;
  let pause = 1000;
  while (state.outbox.length) {
    const item = state.outbox[0];
    try {
      const { ok, status, data } = await requestJson(text[item.kind], {
        method: "POST", body: { ...item.body, exclude: held() }, csrf: text.csrf,
      });
      // Too many requests this minute: the item stays first in the outbox and goes again later.
      if (status === 429) { warn(data.message || text.msgError); await sleep(60000); continue; }
      // The server failed for a moment (a 5xx): the item stays first and goes again as it
      // was, with its request id, so an answer stored meanwhile is stored once.
      if (status >= 500) throw new Offline(`HTTP ${status}`);
      state.outbox.shift();
      saveOutbox();
      ok ? received(item, data) : refused(data);
      pause = 1000;
      if (!state.outbox.length) say(text.msgSaved);
    } catch (error) {
      if (error instanceof SessionEnded) { warn(text.msgSession); break; }
      warn(text.msgOffline);
      await sleep(pause);
      pause = Math.min(pause * 2, 30000);
    }
  }
  state.sending = false;
}

function received(item, data) {
  hideWarning();
  if (data.next) reserve(data.next);
  if (item.kind === "undo") return undone(data);
  if (item.kind === "draw" || item.kind === "correct") return replaced(item.kind, data);
  if (data.message && !state.current && !state.queue.length) say(data.message);
}

function refused(data) {
  warn(data.message || text.msgError);
  if (data.next) reserve(data.next);
  if (data.error === "paused") {
    state.current = null;
    state.queue = [];
    show();
  }
}

// --- questions ------------------------------------------------------------------------------

function reserve(question) {
  if (held().includes(question.face.id)) return;
  state.queue.push(question);
  new Image().src = question.image.thumb; // preload: the next photo is ready when shown
  state.exhausted = false;
  if (!state.current) advance();
}

function advance() {
  state.current = state.queue.shift() || null;
  show();
  prefetch();
}

async function prefetch() {
  if (state.fetching || state.queue.length >= RESERVE || state.exhausted) return;
  state.fetching = true;
  try {
    const url = `${text.next}?exclude=${held().join(",")}`;
    const { ok, data } = await requestJson(url);
    if (ok && data.question) reserve(data.question);
    else if (ok) {
      state.exhausted = true;
      if (!state.current) say(data.message || text.msgNoneLeft);
    } else if (!state.current) say(data.message);
  } catch (error) {
    warn(error instanceof SessionEnded ? text.msgSession : text.msgOffline);
  } finally {
    state.fetching = false;
  }
  if (state.queue.length < RESERVE && !state.exhausted) setTimeout(prefetch, 5000);
  // Faces are still being found: look again now and then while there is nothing to ask.
  if (state.exhausted && !state.current) {
    setTimeout(() => { state.exhausted = false; prefetch(); }, 30000);
  }
}

function show() {
  const q = state.current;
  elements.stage.hidden = !q;
  elements.bar.hidden = !q;
  elements.undoOnly.hidden = Boolean(q);
  if (!q) {
    if (!state.fetching && state.exhausted) say(text.msgNoneLeft);
    return;
  }
  // What is on screen, for people debugging the page and for the browser tests.
  elements.stage.dataset.face = q.face.id;
  elements.stage.dataset.faces = q.faces.length;
  elements.image.src = q.image.thumb;
  elements.link.href = q.image.url;
  elements.link.textContent = q.image.title;
  drawBoxes(q);
  // Two faces of this photo could be the person: ask which (keys 1-9, 0 for none).
  elements.stage.dataset.which = q.which ? "yes" : "";
  elements.caption.textContent = caption(q);
  // The crop needs the element's laid-out size: measure after the stage is visible.
  requestAnimationFrame(() => placeCrop(elements.crop, q.image.thumb, q.face, q.image.width, q.image.height));
}

function faceOf(number, count) {
  return text.msgFaceOf.replace("%(k)s", number).replace("%(n)s", count);
}

function caption(q) {
  if (q.which) return text.msgWhich;
  return q.faces.length > 1 ? faceOf(q.face.number, q.faces.length) : "";
}

function drawBoxes(q) {
  elements.boxes.replaceChildren();
  q.faces.forEach((face) => {
    const box = document.createElement("div");
    box.className = "box";
    // Every face is reachable from the keyboard (Tab, arrows), however many the photo holds.
    box.tabIndex = 0;
    box.dataset.number = face.number;
    box.setAttribute("role", "button");
    box.setAttribute("aria-label", faceOf(face.number, q.faces.length));
    if (face.id === q.face.id) box.classList.add("current");
    if (face.verdict) box.classList.add(`verdict-${face.verdict}`);
    placeBox(box, face);
    // A tap or click on a face does what its digit (or Enter on it) does: this face is the
    // person, the others are not. While a box is drawn the faces let the pointer through
    // (CSS). The listener is on the box itself: a phone's tap lands on what listens.
    box.addEventListener("click", () => pick(face.number));
    if (q.faces.length > 1) {
      const number = document.createElement("span");
      number.className = "number";
      number.textContent = face.number;
      box.append(number);
    }
    elements.boxes.append(box);
  });
}

// --- what the reviewer does -------------------------------------------------------------------

function answer(verdict) {
  const q = state.current;
  if (!q || state.mode) return;
  send("answer", { face: q.face.id, verdict, request_id: newRequestId() }, [q.face.id]);
  counted();
  advance();
}

function pick(number) {
  const q = state.current;
  if (!q || state.mode) return;
  const face = number ? q.faces.find((f) => f.number === number) : null;
  if (number && !face) { warn(text.msgNoFace); return; }
  const request = { image: q.image.id, face: face ? face.id : null, request_id: newRequestId() };
  send("pick", request, q.faces.map((f) => f.id));
  // The other faces of this photo are answered by the pick: no need to ask about them.
  state.queue = state.queue.filter((other) => other.image.id !== q.image.id);
  counted();
  advance();
}

function undo() {
  if (state.mode) return;
  say(text.msgSaving);
  send("undo", {});
}

function undone(data) {
  say(data.message);
  if (!data.question) return;
  if (state.current) state.queue.unshift(state.current);
  state.current = data.question;
  state.answered = Math.max(0, state.answered - data.undone.length);
  elements.count.textContent = state.answered;
  show();
}

function replaced(kind, data) {
  if (!data.question) return;
  if (kind === "draw" && state.current) state.queue.unshift(state.current);
  state.current = data.question;
  show();
  say(kind === "draw" ? text.msgDrawn : text.msgCorrected);
}

function counted() {
  state.answered += 1;
  elements.count.textContent = state.answered;
}

// --- choosing a face of the photo by keyboard -----------------------------------------------

function focusedBox() {
  return document.activeElement?.closest?.("#boxes .box") || null;
}

/** Arrow keys walk the photo's boxes (wrapping); the first press starts at the asked face. */
function moveFocus(step) {
  const boxes = [...elements.boxes.querySelectorAll(".box")];
  if (!boxes.length) return;
  const at = boxes.indexOf(focusedBox());
  const start = at >= 0 ? at + step : Math.max(boxes.findIndex((b) => b.classList.contains("current")), 0);
  boxes[(start + boxes.length) % boxes.length].focus();
}

elements.boxes.addEventListener("focusin", (event) => {
  const box = event.target.closest(".box");
  // From the keyboard only: a caption that grows under a finger's tap moves the photo, and
  // the tap's click lands beside the face it was meant for.
  if (box && state.current && box.matches(":focus-visible")) elements.caption.textContent = `${box.getAttribute("aria-label")}: ${text.msgFocused}`;
});

elements.boxes.addEventListener("focusout", () => {
  if (state.current) elements.caption.textContent = caption(state.current);
});

// --- drawing a box with mouse, pen or finger, or with the arrow keys ---------------------------

const STEP = 0.01; // one arrow press: 1 % of the photo
const MIN_SIDE = 0.02;

function startMode(mode) {
  const q = state.current;
  if (!q) return;
  state.mode = mode;
  // A box to start from, so the keyboard alone can place it: the face's own box to
  // correct, a box in the middle of the photo to draw.
  const { left, top, width, height } = mode === "correct" ? q.face : { left: 0.4, top: 0.4, width: 0.2, height: 0.2 };
  state.box = { left, top, width, height };
  elements.photo.classList.add("drawing-mode");
  elements.drawing.hidden = false;
  placeBox(elements.drawing, state.box);
  drawingButtons(true);
  say(mode === "draw" ? text.msgDraw : text.msgCorrect);
}

function endMode() {
  state.mode = null;
  state.box = null;
  elements.photo.classList.remove("drawing-mode");
  elements.drawing.hidden = true;
  drawingButtons(false);
}

/** While a box is drawn the answers wait (and look it), and a button cancels the box. */
function drawingButtons(drawing) {
  elements.bar.querySelectorAll("button").forEach((button) => {
    if (button.dataset.action === "cancel") button.hidden = !drawing;
    else button.disabled = drawing;
  });
}

/** Esc: no box is drawn and no hint stays on screen. */
function cancel() {
  endMode();
  say("");
  hideWarning();
}

const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

/** Arrows move the box; with Shift they resize it (right/down grow, left/up shrink). */
function nudge(key, resize) {
  const b = state.box;
  const dx = { ArrowLeft: -STEP, ArrowRight: STEP }[key] || 0;
  const dy = { ArrowUp: -STEP, ArrowDown: STEP }[key] || 0;
  if (resize) {
    b.width = clamp(b.width + dx, MIN_SIDE, 1 - b.left);
    b.height = clamp(b.height + dy, MIN_SIDE, 1 - b.top);
  } else {
    b.left = clamp(b.left + dx, 0, 1 - b.width);
    b.top = clamp(b.top + dy, 0, 1 - b.height);
  }
  placeBox(elements.drawing, b);
}

function submitBox(box) {
  const mode = state.mode;
  endMode();
  say("");
  if (box.width < 0.01 || box.height < 0.01) return;
  const q = state.current;
  if (mode === "draw") send("draw", { image: q.image.id, ...box });
  else send("correct", { face: q.face.id, ...box }, [q.face.id]);
}

function drawingKey(event) {
  if (event.key === "Escape") cancel();
  else if (event.key === "Enter") submitBox({ ...state.box });
  else if (event.key.startsWith("Arrow")) nudge(event.key, event.shiftKey);
  else return;
  event.preventDefault();
}

function fraction(event) {
  const rect = elements.image.getBoundingClientRect();
  return {
    x: Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1),
    y: Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1),
  };
}

let origin = null;

function boxFrom(a, b) {
  return {
    left: Math.min(a.x, b.x), top: Math.min(a.y, b.y),
    width: Math.abs(a.x - b.x), height: Math.abs(a.y - b.y),
  };
}

elements.photo.addEventListener("pointerdown", (event) => {
  if (!state.mode) return;
  event.preventDefault();
  elements.photo.setPointerCapture(event.pointerId);
  origin = fraction(event);
  elements.drawing.hidden = false;
  placeBox(elements.drawing, boxFrom(origin, origin));
});

elements.photo.addEventListener("pointermove", (event) => {
  if (state.mode && origin) placeBox(elements.drawing, boxFrom(origin, fraction(event)));
});

elements.photo.addEventListener("pointerup", (event) => {
  if (!state.mode || !origin) return;
  const box = boxFrom(origin, fraction(event));
  origin = null;
  submitBox(box);
});

// --- keys and buttons -----------------------------------------------------------------------

const KEYS = {
  y: () => answer("yes"),
  n: () => answer("no"),
  s: () => answer("skip"),
  z: undo,
  backspace: undo,
  d: () => startMode("draw"),
  c: () => startMode("correct"),
  escape: cancel,
};

/** Arrows and Enter on the photo's boxes; true when the key was theirs. */
function boxKey(event) {
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
  const box = focusedBox();
  if (step && state.current && (box || state.current.faces.length > 1)) {
    moveFocus(step);
  } else if (event.key === "Enter" && box) {
    pick(Number(box.dataset.number));
  } else {
    return false;
  }
  event.preventDefault();
  return true;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) return;
  if (state.mode) {
    drawingKey(event);
    return;
  }
  if (event.repeat || boxKey(event)) return;
  const key = event.key.toLowerCase();
  if (/^[0-9]$/.test(key)) {
    event.preventDefault();
    pick(Number(key));
    return;
  }
  const action = KEYS[key];
  if (!action) return;
  event.preventDefault();
  action();
});

root.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.verdict) answer(button.dataset.verdict);
  else if (button.dataset.action === "undo") undo();
  else if (button.dataset.action === "draw") startMode("draw");
  else if (button.dataset.action === "correct") startMode("correct");
  else if (button.dataset.action === "cancel") cancel();
  button.blur();
});

window.addEventListener("resize", () => {
  const q = state.current;
  if (q) placeCrop(elements.crop, q.image.thumb, q.face, q.image.width, q.image.height);
});
window.addEventListener("online", drain);

// --- messages --------------------------------------------------------------------------------

function say(message) {
  elements.status.textContent = message || "";
}

function warn(message) {
  elements.alert.textContent = message;
  elements.alert.hidden = false;
}

function hideWarning() {
  elements.alert.hidden = true;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

show();
prefetch();
drain();
