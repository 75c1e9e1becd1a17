// The API-key session: when the server answers 401, ask for a key once and trade it for
// an httpOnly session cookie (POST /ui/session); the page never stores the key itself.

import { api, ApiError } from "./api.js";
import { h, fill } from "./dom.js";

let asking = false;

function askForKey() {
  const dialog = document.getElementById("login-dialog");
  if (!dialog || asking) return;
  asking = true;
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const key = form.elements.key.value.trim();
    try {
      await api("/ui/session", { method: "POST", json: { key } });
      window.location.reload();
    } catch (err) {
      error.hidden = false;
      error.textContent = err instanceof ApiError ? err.envelope.message : String(err);
    }
  };
  dialog.showModal();
}

async function showSession() {
  const box = document.getElementById("session");
  if (!box) return;
  let session;
  try {
    session = await api("/ui/session");
  } catch {
    return;
  }
  if (!session || !session.authenticated || !session.via_cookie) return;
  const signOut = h("button", {
    class: "btn small",
    type: "button",
    onclick: async () => {
      await api("/ui/session", { method: "DELETE" }).catch(() => {});
      window.location.reload();
    },
  }, "Sign out");
  fill(box, h("span", { class: "tag", title: "API key scope" }, session.scope), h("span", {}, session.key_name ?? ""), signOut);
  box.hidden = false;
}

/** Scope of the current session, or null when the server has no keys. */
export async function currentScope() {
  try {
    const session = await api("/ui/session");
    return session && session.authenticated ? session.scope : null;
  } catch {
    return null;
  }
}

export function initSession() {
  document.addEventListener("visor:unauthorized", askForKey);
  showSession();
}
