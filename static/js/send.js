// The send page: face boxes over the thumbnails, and the live state of every sent edit.
// A module loaded from a file: no inline script, so a strict Content-Security-Policy holds.

const POLL_MS = 2000;

function drawBoxes() {
  document.querySelectorAll("[data-box]").forEach((frame) => {
    if (frame.querySelector(".face-box")) return; // drawn already (the page is redrawn in parts)
    const [left, top, width, height] = frame.dataset.box.split(",").map(Number);
    const box = document.createElement("span");
    box.className = "face-box";
    Object.assign(box.style, {
      position: "absolute",
      left: `${left}%`,
      top: `${top}%`,
      width: `${width}%`,
      height: `${height}%`,
      border: "2px solid #3366cc",
      pointerEvents: "none",
    });
    Object.assign(frame.style, { position: "relative", display: "inline-block" });
    frame.append(box);
  });
}

function update(table, edits) {
  for (const edit of edits) {
    const row = table.querySelector(`tr[data-edit-id="${edit.id}"]`);
    if (!row) continue;
    row.dataset.state = edit.state;
    row.querySelector('[data-field="state_text"]').textContent = edit.state_text;
    row.querySelector('[data-field="error"]').textContent = edit.error;
  }
}

// Each batch's counts, at every tick: the row follows its edits (an undo moves Written to
// Undone while the edits' table above says so), not only once everything has arrived.
function updateBatches(batches) {
  for (const batch of batches || []) {
    const row = document.querySelector(`#batches tr[data-batch="${batch.batch}"]`);
    if (!row) continue;
    for (const cell of row.querySelectorAll("[data-field]")) {
      cell.textContent = batch[cell.dataset.field];
    }
  }
}

// When every edit has arrived, the batches table (counts, the undo link) and the approved
// edits (an undone batch comes back there) are drawn again from a fresh copy of this page:
// the server decides what can be undone and what waits to be sent.
async function refreshBatches() {
  const response = await fetch(window.location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ["batches", "approved"]) {
    const current = document.getElementById(id);
    const replacement = fresh.getElementById(id);
    if (current && replacement) current.replaceWith(document.importNode(replacement, true));
  }
  drawBoxes();
}

async function poll(table) {
  try {
    const response = await fetch(table.dataset.statesUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const data = await response.json();
    update(table, data.edits);
    updateBatches(data.batches);
    if (!data.waiting) {
      await refreshBatches();
      return;
    }
  } catch {
    // A lost request is tried again at the next tick.
  }
  setTimeout(() => poll(table), POLL_MS);
}

drawBoxes();
const table = document.querySelector("[data-states-url]");
if (table && table.querySelector('tr[data-state="queued"], tr[data-state="sending"], tr[data-state="revert_queued"], tr[data-state="reverting"]')) {
  setTimeout(() => poll(table), POLL_MS);
}
