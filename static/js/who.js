// "Who is this?" for a group of people: one face, the group's likeliest people, keyboard first.
// 1-9: that person; N: someone else; S: skip; U: undo (every person's label of the last answer);
// P, Shift+1-3: a person a shared project proposes (they join the group; the owner only).

import { placeAllCrops, placeCrop } from "./crops.js";
import { newRequestId, Offline, requestJson, SessionEnded } from "./http.js";

const root = document.getElementById("who");
const msg = root.dataset;
const elements = {
  stage: document.getElementById("stage"),
  bar: document.getElementById("answer-bar"),
  crop: document.getElementById("crop"),
  people: document.getElementById("people"),
  shared: document.getElementById("shared"),
  link: document.getElementById("file-link"),
  status: document.getElementById("status"),
  alert: document.getElementById("alert"),
  undoOnly: document.getElementById("undo-only"),
  count: document.getElementById("answered-count"),
};
let question = JSON.parse(document.getElementById("first-question").textContent);
let busy = false;
let answered = 0;

function say(text) {
  elements.status.textContent = text || "";
}

function warn(text) {
  elements.alert.textContent = text || "";
  elements.alert.hidden = !text;
}

function personItem(person) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "answer person";
  button.dataset.person = String(person.project);
  if (person.key) {
    const key = document.createElement("kbd");
    key.textContent = String(person.key);
    button.append(key, " ");
  }
  if (person.crop) {
    // The person's own face (a confirmed one, or their Wikidata image's), beside the name.
    const face = document.createElement("span");
    face.className = "crop person-face";
    face.setAttribute("aria-hidden", "true");
    const c = person.crop;
    face.dataset.thumb = c.thumb;
    Object.assign(face.dataset, {
      left: c.left, top: c.top, width: c.width, height: c.height, imageWidth: c.image_width, imageHeight: c.image_height,
    });
    button.append(face, " ");
  }
  const label = document.createElement("strong");
  label.textContent = person.label;
  const extra = document.createElement("small");
  extra.textContent = ` (${person.qid}) ${person.probability}`;
  button.append(label, extra);
  item.append(button);
  return item;
}

function proposalItem(proposal) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "answer person shared";
  button.dataset.qid = proposal.qid;
  const key = document.createElement("kbd");
  key.textContent = proposal.key === 1 ? "P" : `⇧${proposal.key}`;
  button.append(key, " ", proposal.text);
  item.append(button);
  return item;
}

function show(q, message) {
  question = q;
  const present = Boolean(q);
  elements.stage.hidden = !present;
  elements.bar.hidden = !present;
  elements.undoOnly.hidden = present;
  elements.people.replaceChildren(...(present ? q.people.map(personItem) : []));
  const shared = present ? q.shared || [] : [];
  elements.shared.replaceChildren(...shared.map(proposalItem));
  elements.shared.hidden = !shared.length;
  if (present) {
    elements.link.href = q.image.url;
    elements.link.textContent = q.image.title;
    requestAnimationFrame(() => {
      placeCrop(elements.crop, q.image.thumb, q.face, q.image.width, q.image.height);
      placeAllCrops(elements.people);
    });
  }
  say(present ? message || "" : message);
}

async function send(url, body) {
  busy = true;
  warn("");
  say(msg.msgSaving);
  try {
    return await requestJson(url, { method: "POST", body, csrf: root.dataset.csrf });
  } catch (error) {
    warn(error instanceof SessionEnded ? msg.msgSession : error instanceof Offline ? msg.msgOffline : msg.msgError);
    return null;
  } finally {
    busy = false;
  }
}

async function answer(kind, person = null) {
  if (busy || !question) return;
  const body = { face: question.face.id, answer: kind, person, request_id: newRequestId(), exclude: [question.face.id] };
  await stored(await send(root.dataset.answer, body));
}

async function accept(qid) {
  if (busy || !question) return;
  const body = { face: question.face.id, qid, request_id: newRequestId(), exclude: [question.face.id] };
  await stored(await send(root.dataset.shared, body));
}

async function stored(result) {
  if (!result) return;
  if (!result.ok) {
    say("");
    warn(result.data.message || msg.msgError);
    return;
  }
  answered += 1;
  elements.count.textContent = String(answered);
  show(result.data.next, result.data.next ? msg.msgSaved : result.data.message);
}

async function undo() {
  if (busy) return;
  const result = await send(root.dataset.undo, {});
  if (!result) return;
  if (!result.ok) {
    say("");
    warn(result.data.message || msg.msgError);
    return;
  }
  if (result.data.undone.length) answered = Math.max(0, answered - 1);
  elements.count.textContent = String(answered);
  if (result.data.question) show(result.data.question, result.data.message);
  else say(result.data.message);
}

function byProposal(rank) {
  const proposal = question?.shared?.find((p) => p.key === rank);
  if (proposal) accept(proposal.qid);
  else if (question) warn(msg.msgNoProposal);
}

function byKey(key) {
  const person = question?.people.find((p) => p.key === Number(key));
  if (person) answer("person", person.project);
  else if (question) warn(msg.msgNoPerson);
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest("input, textarea, select")) return;
  const key = event.key.toLowerCase();
  const shifted = event.shiftKey && /^Digit[1-3]$/.test(event.code);
  if (shifted) byProposal(Number(event.code.slice(5)));
  else if (key === "p") byProposal(1);
  else if (/^[1-9]$/.test(key)) byKey(key);
  else if (key === "n") answer("none");
  else if (key === "s") answer("skip");
  else if (key === "u") undo();
  else return;
  event.preventDefault();
});

root.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.qid) accept(button.dataset.qid);
  else if (button.dataset.person) answer("person", Number(button.dataset.person));
  else if (button.dataset.answer) answer(button.dataset.answer);
  else if (button.dataset.action === "undo") undo();
});

show(question, question ? "" : elements.status.textContent);
