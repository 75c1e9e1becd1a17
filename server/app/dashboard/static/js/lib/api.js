// The one way the dashboard talks to the server: same-origin fetch of the public REST API.

const ROOT = document.body.dataset.root || "";

/** A root-relative URL on this server (respects a proxy's path prefix). */
export const url = (path) => ROOT + path;

/** A failed API call; `envelope` is the server's error section (type, message, details). */
export class ApiError extends Error {
  constructor(status, body) {
    const envelope = body && body.error ? body.error : {
      type: "InternalError",
      message: `HTTP ${status}`,
      details: { code: "unexpected_response" },
      plugin: null,
    };
    super(envelope.message);
    this.status = status;
    this.envelope = envelope;
  }
}

function cookie(name) {
  const match = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

/** Headers every state-changing request carries: the CSRF token the session cookie pairs with. */
export function csrfHeaders() {
  const token = cookie("visor_csrf");
  return token ? { "X-CSRF-Token": token } : {};
}

/**
 * Call the API. `json` sends a JSON body, `form` a FormData (multipart). Resolves to the
 * parsed JSON body; rejects with ApiError carrying the error envelope.
 */
export async function api(path, { method = "GET", json, form, signal } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (method !== "GET" && method !== "HEAD") Object.assign(headers, csrfHeaders());
  let response;
  try {
    response = await fetch(url(path), { method, headers, body, signal, credentials: "same-origin" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, {
      error: {
        type: "InternalError",
        message: "The server cannot be reached.",
        details: { code: "unreachable" },
        plugin: null,
      },
    });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401) document.dispatchEvent(new CustomEvent("visor:unauthorized"));
    throw new ApiError(response.status, data);
  }
  return data;
}
