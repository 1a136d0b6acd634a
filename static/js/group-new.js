// The new-group page: "Who is depicted here already?" offers the humans the category's files
// depict (P180), each with a tick box that adds its Q-id to the list of people (or takes it out).

import { requestJson } from "./http.js";

const form = document.getElementById("new-group");
const people = document.getElementById("id_people");
const category = document.getElementById("id_category");
const box = document.getElementById("depicted-people");
const line = box.querySelector("p");
const items = box.querySelector("ul");

function qids() {
  return people.value.split(/[\s,;]+/).filter(Boolean);
}

function tick(qid, on) {
  const kept = qids().filter((given) => given.toUpperCase() !== qid);
  people.value = (on ? [...kept, qid] : kept).join("\n");
}

function offer(person) {
  const item = document.createElement("li");
  const label = document.createElement("label");
  const check = document.createElement("input");
  check.type = "checkbox";
  check.value = person.qid;
  check.checked = qids().some((given) => given.toUpperCase() === person.qid);
  check.addEventListener("change", () => tick(person.qid, check.checked));
  label.append(check, ` ${person.text}`);
  item.append(label);
  return item;
}

async function propose() {
  box.hidden = false;
  items.replaceChildren();
  const name = category.value.trim();
  if (!name) { line.textContent = form.dataset.msgDepictedEmpty; return; }
  line.textContent = form.dataset.msgDepictedReading;
  try {
    const { data } = await requestJson(`${form.dataset.depictedUrl}?category=${encodeURIComponent(name)}`);
    line.textContent = data.message || form.dataset.msgOffline;
    items.replaceChildren(...(data.people || []).map(offer));
  } catch {
    line.textContent = form.dataset.msgOffline;
  }
}

document.getElementById("depicted-button").addEventListener("click", propose);
