// The API, with the key this tab keeps. The key lives in sessionStorage (this tab only, gone
// when it closes) and travels as an Authorization header: never in an address, never in a
// cookie. The live events are read with fetch() and a stream reader, not EventSource, which
// cannot send a header.

const STORAGE = "review-queue.key";
const AUTH = document.querySelector('meta[name="review-queue-auth"]')?.content || "required";

export const session = {
  keyRequired: AUTH !== "off",
  key: sessionStorage.getItem(STORAGE),
  me: null,
};

const listeners = new Set();
/** Called with no argument when the key is refused (401): the page asks for one again. */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

export function rememberKey(key) {
  session.key = key;
  sessionStorage.setItem(STORAGE, key);
}

export function forgetKey() {
  session.key = null;
  session.me = null;
  sessionStorage.removeItem(STORAGE);
}

export function canOperate() {
  return ["operator", "admin"].includes(session.me?.role);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function headers(extra = {}) {
  const found = { Accept: "application/json", ...extra };
  if (session.key) found.Authorization = `Bearer ${session.key}`;
  return found;
}

/** GET (or POST, with JSON) a path of this service; throws ApiError for an error answer. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: headers(), cache: "no-store", credentials: "omit" };
  if (method !== "GET") {
    // Every POST is JSON, body or not: the service refuses anything else (415).
    init.headers["Content-Type"] = "application/json";
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { error: text };
  }
  if (response.status === 401) for (const listener of listeners) listener();
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** Who the key is ({name, role, auth}); rejects with ApiError(401) for a key that is not live. */
export async function whoAmI() {
  session.me = await api("/auth/me");
  return session.me;
}

/**
 * Follow GET /queue/events: onEvent(kind, data) for each event, onState("live" | "connecting"
 * | "offline"). Reconnects by itself with Last-Event-ID, so nothing that history holds is
 * missed; an event seen already (the replay overlaps) is dropped by its id.
 */
export function followEvents(onEvent, onState) {
  let stopped = false;
  let controller = null;
  let lastId = null;
  const seen = new Set();
  const order = [];

  function fresh(id) {
    if (!id) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    order.push(id);
    if (order.length > 5000) seen.delete(order.shift());
    return true;
  }

  function dispatch(block) {
    let kind = "message";
    let id = null;
    const data = [];
    let comment = null;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        comment = line.slice(1).trim();
        continue;
      }
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "event") kind = value;
      else if (name === "id") id = value;
      else if (name === "data") data.push(value);
    }
    if (comment === "live") onState("live");
    // Too far behind to replay: the page reloads when the stream goes live, right after.
    if (!data.length || kind === "reset") return;
    if (id) lastId = id;
    if (!fresh(id)) return;
    try {
      onEvent(kind, JSON.parse(data.join("\n")));
    } catch (error) {
      console.warn("An event could not be read", error);
    }
  }

  async function run() {
    let delay = 1000;
    while (!stopped) {
      controller = new AbortController();
      onState("connecting");
      try {
        const extra = { Accept: "text/event-stream" };
        if (lastId) extra["Last-Event-ID"] = lastId;
        const response = await fetch("/queue/events", {
          headers: headers(extra),
          signal: controller.signal,
          cache: "no-store",
          credentials: "omit",
        });
        if (response.status === 401) {
          for (const listener of listeners) listener();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        delay = 1000;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          // A \r at the very end may be half of a \r\n: keep it for the next chunk.
          const cut = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
          let text = buffer.slice(0, cut).replace(/\r\n?/g, "\n");
          buffer = buffer.slice(cut);
          let end;
          while ((end = text.indexOf("\n\n")) >= 0) {
            dispatch(text.slice(0, end));
            text = text.slice(end + 2);
          }
          buffer = text + buffer;
        }
      } catch (error) {
        if (stopped) return;
      }
      if (stopped) return;
      onState("offline");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }

  run();
  return {
    close() {
      stopped = true;
      controller?.abort();
      onState("off");
    },
  };
}
