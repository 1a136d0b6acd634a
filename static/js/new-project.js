// New project: find the person on Wikidata as you type, and check the one you pick.
import { requestJson } from "./http.js";

const form = document.getElementById("new-project");
const input = form.querySelector("[role=combobox]");
const list = document.getElementById("person-results");
const card = document.getElementById("person-card");
const QID = /^\s*[Qq][1-9]\d*\s*$/;
let timer = null;
let active = -1;
let latest = 0;
let checked = "";  // the Q-id the card shows, so leaving the field does not check it again

function options() {
  return [...list.querySelectorAll("[role=option]")];
}

function close() {
  list.hidden = true;
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("aria-activedescendant");
  active = -1;
}

function note(text) {
  list.replaceChildren();
  const item = document.createElement("li");
  item.className = "note";
  item.textContent = text;
  list.append(item);
  list.hidden = false;
}

function render(results) {
  list.replaceChildren();
  results.forEach((hit, index) => {
    const item = document.createElement("li");
    item.id = `person-option-${index}`;
    item.setAttribute("role", "option");
    item.dataset.qid = hit.qid;
    const label = document.createElement("strong");
    label.textContent = hit.label;
    const qid = document.createElement("small");
    qid.textContent = ` ${hit.qid}`;
    const description = document.createElement("span");
    description.textContent = hit.description;
    item.append(label, qid, document.createElement("br"), description);
    item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(hit.qid); });
    list.append(item);
  });
  if (!results.length) { note(form.dataset.msgNone); return; }
  list.hidden = false;
  input.setAttribute("aria-expanded", "true");
}

async function search(text) {
  const ticket = ++latest;
  note(form.dataset.msgSearching);
  try {
    const url = `${form.dataset.searchUrl}?q=${encodeURIComponent(text)}`;
    const { ok, data } = await requestJson(url);
    if (ticket !== latest) return;  // a newer search is under way
    if (ok) render(data.results); else note(data.message || form.dataset.msgOffline);
  } catch {
    if (ticket === latest) note(form.dataset.msgOffline);
  }
}

function highlight(index) {
  const all = options();
  if (!all.length) return;
  active = (index + all.length) % all.length;
  all.forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
  input.setAttribute("aria-activedescendant", all[active].id);
  all[active].scrollIntoView({ block: "nearest" });
}

function choose(qid) {
  input.value = qid;
  close();
  check(qid);
}

async function check(qid) {
  if (qid === checked) return;
  checked = qid;
  card.classList.remove("empty");
  card.classList.remove("bad");
  card.querySelector(".label").textContent = form.dataset.msgChecking;
  card.querySelector(".qid").textContent = "";
  card.querySelector(".description").textContent = "";
  card.querySelector(".note").textContent = "";
  const image = card.querySelector("img");
  image.hidden = true;
  try {
    const { ok, data } = await requestJson(`${form.dataset.personUrl}?qid=${encodeURIComponent(qid.trim())}`);
    if (!ok) {
      card.classList.add("bad");
      card.querySelector(".label").textContent = data.message;
      return;
    }
    card.querySelector(".label").textContent = data.label;
    card.querySelector(".qid").textContent = data.qid;
    card.querySelector(".description").textContent = data.description;
    card.querySelector(".note").textContent = data.redirect_note;
    if (data.redirected_from) { input.value = data.qid; checked = data.qid; }
    if (data.image) {
      image.src = data.image;
      image.alt = data.label;
      image.onerror = () => { image.hidden = true; };
      image.hidden = false;
    }
  } catch {
    checked = "";
    card.querySelector(".label").textContent = form.dataset.msgOffline;
  }
}

input.addEventListener("input", () => {
  clearTimeout(timer);
  const text = input.value.trim();
  card.classList.add("empty");  // it keeps its place: nothing below it moves
  checked = "";
  // The server's verdict on the previous value no longer applies.
  input.closest(".field").querySelectorAll(".field-error").forEach((error) => error.remove());
  if (text.length < 2 || QID.test(text)) { close(); return; }
  timer = setTimeout(() => search(text), 250);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
  else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
  else if (event.key === "Enter" && !list.hidden && active >= 0) {
    event.preventDefault();
    choose(options()[active].dataset.qid);
  } else if (event.key === "Escape") close();
});

input.addEventListener("blur", () => {
  setTimeout(close, 150);
  if (QID.test(input.value)) check(input.value.trim().toUpperCase());
});

// --- where to look: a category (with a size estimate) or a list of files (with a count) ---

const scopeRadios = [...form.querySelectorAll("input[name=scope]")];
const sections = [...form.querySelectorAll("[data-scope]")];
const categoryInput = document.getElementById("id_category");
const depthInput = document.getElementById("id_crawl_depth");
const estimate = document.getElementById("category-estimate");
const listInput = document.getElementById("id_file_list");
const uploadInput = document.getElementById("id_file_upload");
const listCount = document.getElementById("file-list-count");
const listBad = document.getElementById("file-list-bad");
const csrf = form.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
let estimateTimer = null;
let estimateTicket = 0;
let estimated = "";  // the category and depth the estimate shows
let listTimer = null;
let listTicket = 0;

function showScope() {
  const chosen = scopeRadios.find((radio) => radio.checked)?.value || "category";
  sections.forEach((section) => { section.hidden = section.dataset.scope !== chosen; });
}

// The line keeps its place when empty (.estimate has a line's height): text arriving while the
// contributor reaches for the button must not move the button away from the pointer.
function say(element, text, bad = false) {
  element.textContent = text;
  element.classList.toggle("field-error", bad);
}

async function estimateCategory() {
  const category = categoryInput.value.trim();
  const depth = depthInput.value.trim() || "2";
  const key = `${category}\n${depth}`;
  if (!category) { estimated = ""; say(estimate, ""); return; }
  if (key === estimated) return;
  estimated = key;
  const ticket = ++estimateTicket;
  say(estimate, form.dataset.msgEstimating);
  try {
    const url = `${form.dataset.estimateUrl}?category=${encodeURIComponent(category)}&depth=${encodeURIComponent(depth)}`;
    const { ok, data } = await requestJson(url);
    if (ticket !== estimateTicket) return;  // a newer estimate is under way
    say(estimate, data.message || form.dataset.msgEstimateOffline, !ok);
    if (!ok && data.error !== "missing") estimated = "";  // worth asking again later
  } catch {
    if (ticket === estimateTicket) { estimated = ""; say(estimate, form.dataset.msgEstimateOffline, true); }
  }
}

// Who the category's files already depict (P180): the people to pick the person from.
const depictedButton = document.getElementById("depicted-button");
const depictedBox = document.getElementById("depicted-people");

async function proposePeople() {
  const category = categoryInput.value.trim();
  const line = depictedBox.querySelector("p");
  const items = depictedBox.querySelector("ul");
  depictedBox.hidden = false;
  items.replaceChildren();
  if (!category) { say(line, form.dataset.msgDepictedEmpty, true); return; }
  say(line, form.dataset.msgDepictedReading);
  try {
    const { ok, data } = await requestJson(`${form.dataset.depictedUrl}?category=${encodeURIComponent(category)}`);
    say(line, data.message || form.dataset.msgEstimateOffline, !ok);
    (data.people || []).forEach((person) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.dataset.qid = person.qid;
      button.textContent = person.text;
      button.addEventListener("click", () => { choose(person.qid); input.focus(); });
      item.append(button);
      items.append(item);
    });
  } catch {
    say(line, form.dataset.msgEstimateOffline, true);
  }
}

const searchInput = document.getElementById("id_search_query");
const searchEstimate = document.getElementById("search-estimate");
let searchTimer = null;
let searchTicket = 0;
let searched = "";  // the search the estimate shows

async function estimateSearch() {
  const query = searchInput.value.trim().replace(/\s+/g, " ");
  if (!query) { searched = ""; say(searchEstimate, ""); return; }
  if (query === searched) return;
  searched = query;
  const ticket = ++searchTicket;
  say(searchEstimate, form.dataset.msgSearchEstimating);
  try {
    const url = `${form.dataset.searchEstimateUrl}?q=${encodeURIComponent(query)}`;
    const { ok, data } = await requestJson(url);
    if (ticket !== searchTicket) return;  // a newer search is under way
    say(searchEstimate, data.message || form.dataset.msgSearchOffline, !ok);
    if (!ok && data.error !== "empty") searched = "";  // worth asking again later
  } catch {
    if (ticket === searchTicket) { searched = ""; say(searchEstimate, form.dataset.msgSearchOffline, true); }
  }
}

function laterEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(estimateCategory, 600);
}

// Files larger than this are read only when the form is sent (the server's own cap is 4 MB).
const MAX_CHECKED_UPLOAD = 4 * 1024 * 1024;

async function countList() {
  const upload = uploadInput?.files[0];
  const uploaded = upload && upload.size <= MAX_CHECKED_UPLOAD ? await upload.text().catch(() => null) : "";
  if (uploaded === null || (upload && upload.size > MAX_CHECKED_UPLOAD)) { say(listCount, form.dataset.msgUpload); return; }
  const ticket = ++listTicket;
  listBad.replaceChildren();
  listBad.hidden = true;
  if (!listInput.value.trim() && !uploaded.trim()) { say(listCount, ""); return; }
  say(listCount, form.dataset.msgReading);
  try {
    const body = { file_list: listInput.value, upload: uploaded, name: upload?.name || "" };
    const { ok, data } = await requestJson(form.dataset.filesUrl, { method: "POST", body, csrf });
    if (ticket !== listTicket) return;
    say(listCount, data.message || "", !ok || data.too_many || data.bad?.length > 0);
    (data.bad || []).forEach((bad) => {
      const item = document.createElement("li");
      item.textContent = `${bad.line}: ${bad.message}`;
      listBad.append(item);
    });
    listBad.hidden = !listBad.children.length;
  } catch {
    if (ticket === listTicket) say(listCount, "");
  }
}

scopeRadios.forEach((radio) => radio.addEventListener("change", () => {
  showScope();
  if (radio.value === "category") laterEstimate();
  else if (radio.value === "files") countList();
  else if (radio.value === "search") estimateSearch();
}));
categoryInput?.addEventListener("input", laterEstimate);
categoryInput?.addEventListener("blur", estimateCategory);
depictedButton?.addEventListener("click", proposePeople);
depthInput?.addEventListener("input", laterEstimate);
listInput?.addEventListener("input", () => { clearTimeout(listTimer); listTimer = setTimeout(countList, 500); });
uploadInput?.addEventListener("change", countList);
searchInput?.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(estimateSearch, 600); });
searchInput?.addEventListener("blur", estimateSearch);
showScope();
if (categoryInput?.value.trim()) estimateCategory();
if (listInput?.value.trim()) countList();
if (searchInput?.value.trim()) estimateSearch();
