// Polling with a "live" indicator: slows down while the tab is hidden, never overlaps.

import { ApiError } from "./api.js";

function indicate(ok) {
  const live = document.getElementById("live");
  if (!live) return;
  live.dataset.state = ok ? "live" : "error";
  live.querySelector(".live-text").textContent = ok ? "live" : "offline";
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
      indicate(false);
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
