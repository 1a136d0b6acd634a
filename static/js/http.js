// JSON requests to our own endpoints, with the CSRF token Django expects on every POST.

export class SessionEnded extends Error {}
export class Offline extends Error {}

/** The CSRF token: from the page (data-csrf) or, failing that, from the cookie. */
export function csrfToken(root) {
  if (root?.dataset.csrf) return root.dataset.csrf;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/**
 * Send `body` (or nothing, for a GET) and read the JSON answer.
 * Resolves to {ok, status, data}; rejects with Offline when the network failed and with
 * SessionEnded when the login page came back instead of JSON.
 */
export async function requestJson(url, { method = "GET", body = null, csrf = "" } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        // A refusal this page expects (400, 404, 409, 422) then answers 200 with its status in
        // X-Refused-Status: the browser logs no error for a "no" the page shows as an answer.
        "X-Expect-Refusals": "1",
        ...(body !== null ? { "Content-Type": "application/json" } : {}),
        ...(method !== "GET" ? { "X-CSRFToken": csrf } : {}),
      },
      body: body !== null ? JSON.stringify(body) : null,
    });
  } catch (error) {
    throw new Offline(String(error));
  }
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("application/json")) {
    if (response.redirected || response.status === 403) throw new SessionEnded(response.url);
    throw new Offline(`HTTP ${response.status}`);
  }
  const refused = Number(response.headers.get("X-Refused-Status")) || 0;
  return { ok: response.ok && !refused, status: refused || response.status, data: await response.json() };
}

/** A random UUID, also where crypto.randomUUID is missing (plain-HTTP origins). */
export function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
