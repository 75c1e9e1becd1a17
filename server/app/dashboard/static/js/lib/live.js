// Polling with a "live" indicator: slows down while the tab is hidden, never overlaps.

import { ApiError } from "./api.js";

// What the badge says: "live", "sign in" when the server wants a key (it answered 401: it
// is up, so "offline" would send people looking for a stopped server), else "offline".
function indicate(ok, err) {
  const live = document.getElementById("live");
  if (!live) return;
  const locked = !ok && err instanceof ApiError && err.status === 401;
  live.dataset.state = ok ? "live" : locked ? "locked" : "error";
  live.querySelector(".live-text").textContent = ok ? "live" : locked ? "sign in" : "offline";
  live.title = ok
    ? "updating"
    : locked
      ? "the server needs an API key: sign in with one"
      : err instanceof ApiError && err.status !== 0
        ? `the server answered: ${err.envelope.message}`
        : "the server cannot be reached";
}

/** Run `task` now and every `intervalMs` after it finishes; returns a stop function. */
export function poll(task, intervalMs) {
  let timer = null;
  let stopped = false;
  async function tick() {
    try {
      await task();
      indicate(true);
    } catch (err) {
      indicate(false, err);
      if (!(err instanceof ApiError)) console.error(err);
    }
    if (!stopped) timer = setTimeout(tick, document.hidden ? intervalMs * 5 : intervalMs);
  }
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
