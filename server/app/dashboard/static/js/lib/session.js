// The API-key session. When the server answers 401, the page asks for a key once and trades
// it for an httpOnly session cookie (POST /ui/session): scripts never hold the key. The
// scope the key has decides what the page offers: a read key sees but cannot run or cancel.

import { api, ApiError } from "./api.js";
import { fill, h } from "./dom.js";

let asking = false;
let info = null;

function askForKey() {
  const dialog = document.getElementById("login-dialog");
  if (!dialog || asking) return;
  asking = true;
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/ui/session", { method: "POST", json: { key: form.elements.key.value.trim() } });
      window.location.reload();
    } catch (err) {
      error.hidden = false;
      error.textContent = err instanceof ApiError ? err.envelope.message : String(err);
    }
  });
  dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without a key
  dialog.showModal();
}

function showSession(session) {
  const box = document.getElementById("session");
  if (!box || !session.authenticated) return;
  const signOut = session.via_cookie
    ? h("button", {
        class: "btn small",
        type: "button",
        id: "sign-out",
        onclick: async () => {
          await api("/ui/session", { method: "DELETE" }).catch(() => {});
          window.location.reload();
        },
      }, "Sign out")
    : null;
  fill(
    box,
    h("span", { class: "tag", title: "the API key's scope", id: "session-scope" }, session.scope),
    h("span", { class: "session-name" }, session.key_name ?? ""),
    signOut,
  );
  box.hidden = false;
}

/** The session: {enabled, authenticated, scope, ...}; fetched once per page. */
export async function session() {
  if (!info) {
    info = api("/ui/session").catch(() => ({ enabled: false, authenticated: false, scope: null }));
  }
  return info;
}

/** True unless the server requires keys and this one may not run tools (scope read). */
export async function canRun() {
  const s = await session();
  return !s.enabled || (s.authenticated && s.scope !== "read");
}

export function initSession() {
  document.addEventListener("visor:unauthorized", askForKey);
  session().then(showSession);
}
