// Follow one job live: the server's event stream (SSE), with polling as the fallback.

import { api, url } from "./api.js";

const TERMINAL = new Set(["SUCCESS", "FAILED", "CANCELLED"]);

export const isTerminal = (job) => TERMINAL.has(job.status);

/** Call `onJob(job)` on every change until the job ends; returns a stop function. */
export function watchJob(jobId, onJob) {
  let stopped = false;
  let source = null;
  let timer = null;
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`;

  const deliver = (job) => {
    if (stopped) return;
    onJob(job);
    if (isTerminal(job)) stop();
  };

  function pollFallback() {
    const tick = async () => {
      if (stopped) return;
      try {
        deliver(await api(path));
      } catch {
        /* keep trying: the server may be restarting */
      }
      if (!stopped) timer = setTimeout(tick, 1000);
    };
    tick();
  }

  function stop() {
    stopped = true;
    if (source) source.close();
    clearTimeout(timer);
  }

  if ("EventSource" in window) {
    source = new EventSource(url(`${path}/events`), { withCredentials: true });
    const handle = (event) => deliver(JSON.parse(event.data));
    source.addEventListener("status", handle);
    source.addEventListener("progress", handle);
    source.onerror = () => {
      // The stream ended or broke: re-read the job (and keep polling until it ends).
      if (stopped) return;
      source.close();
      source = null;
      pollFallback();
    };
  } else {
    pollFallback();
  }
  return stop;
}
