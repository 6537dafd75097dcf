// The live-stream client: one websocket that resumes with ?after=<last seq>,
// reconnects with backoff, pings when quiet and drops a silent connection.
// The rules it follows are in docs/courier-protocol.md.

export const SESSION_ENDED = 4401; // close code: the server ended this session -> log in again
export const MAX_BACKOFF_MS = 10_000;
const CLIENT_PING_MS = 20_000;   // we ping the server when it has been quiet this long...
const SILENCE_LIMIT_MS = 45_000; // ...and give up on a connection that stays silent this long

/** The websocket address for ``path``, resuming after ``seq`` (null: ask for a snapshot). */
export function streamUrl(loc, path, seq) {
  const proto = loc.protocol === "https:" ? "wss:" : "ws:";
  const query = seq !== null && seq !== undefined ? `?after=${encodeURIComponent(seq)}` : "";
  return `${proto}//${loc.host}${path}${query}`;
}

/** Wait before reconnect attempt ``attempt`` (0, 1, ...): 0.5 s doubling, jittered ±25 %, at most 10 s. */
export function backoffMs(attempt, random = Math.random) {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
  return Math.min(MAX_BACKOFF_MS, Math.round(base * (0.75 + random() * 0.5)));
}

/** Whether an event with ``seq`` is news after ``lastSeq`` (a replay after resume may repeat some). */
export function isNewEvent(lastSeq, seq) {
  return lastSeq === null || lastSeq === undefined || seq > lastSeq;
}

/** The route-version rule: a route with a lower version than the one held is old news. */
export function isStaleRoute(held, incoming) {
  return Boolean(held && incoming && held.date === incoming.date && incoming.version < held.version);
}

/** What the heartbeat should do after ``silentMs`` without a word from the server. */
export function heartbeatAction(silentMs) {
  if (silentMs > SILENCE_LIMIT_MS) return "drop";
  if (silentMs > CLIENT_PING_MS) return "ping";
  return "wait";
}

/**
 * What the app does when the socket closed with ``info`` ({code, failuresBeforeMessage}):
 * "login" (4401: the server ended the session), "check-session" (three connections in a row
 * closed before a word: perhaps the session is gone; ask /auth/me), or "reconnect" (the stream does).
 */
export function afterClose(info, online) {
  if (info?.code === SESSION_ENDED) return "login";
  if (info?.failuresBeforeMessage >= 3 && online) return "check-session";
  return "reconnect";
}

/**
 * The messages in a socket's text frames. A long message comes in parts: a
 * ``{"type": "parts", "count": n}`` header, then ``n`` pieces of its JSON text (the server
 * keeps its loop free between them). ``take(frame)`` gives the message a frame completes,
 * or null (a header, a piece, text that is not JSON).
 */
export class MessageReader {
  constructor() {
    this.parts = null;
  }

  take(data) {
    let text = data;
    if (this.parts) {
      this.parts.pieces.push(String(data));
      if (this.parts.pieces.length < this.parts.count) return null;
      text = this.parts.pieces.join("");
      this.parts = null;
    }
    let msg;
    try { msg = JSON.parse(text); } catch { return null; }
    if (msg?.type === "parts" && Number.isInteger(msg.count) && msg.count > 0) {
      this.parts = { count: msg.count, pieces: [] };
      return null;
    }
    return msg;
  }
}

export class LiveStream {
  /**
   * @param {object} opts
   * @param {string} opts.path  e.g. "/ws/courier"
   * @param {() => number|null} opts.lastSeq  the highest seq processed (null: ask for a snapshot)
   * @param {(msg: object) => void} opts.onMessage
   * @param {(state: "open"|"connecting"|"closed", info?: object) => void} opts.onState
   */
  constructor({ path, lastSeq, onMessage, onState }) {
    Object.assign(this, { path, lastSeq, onMessage, onState });
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.stopped = true;
    this.lastHeard = 0;
    this.failuresBeforeMessage = 0;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
      try { ws.close(1000, "bye"); } catch { /* already closed */ }
    }
    this.onState("closed");
  }

  /** Reconnect now (e.g. the browser says the network is back), skipping the backoff wait. */
  kick() {
    if (this.stopped) return;
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  send(obj) {
    if (!this.isOpen) return false;
    try {
      this.ws.send(JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  connect() {
    clearTimeout(this.timer);
    this.onState("connecting");
    let ws;
    try {
      ws = new WebSocket(streamUrl(location, this.path, this.lastSeq()));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    const reader = new MessageReader(); // a new connection starts between messages
    let heard = false;
    ws.onopen = () => {
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.onState("open");
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.heartbeat(), CLIENT_PING_MS / 2);
    };
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      if (!heard) {
        heard = true;
        this.failuresBeforeMessage = 0;
      }
      const msg = reader.take(ev.data);
      if (msg !== null) this.onMessage(msg);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      if (!heard) this.failuresBeforeMessage += 1;
      this.onState("closed", { code: ev.code, reason: ev.reason, failuresBeforeMessage: this.failuresBeforeMessage });
      this.scheduleReconnect();
    };
  }

  heartbeat() {
    if (!this.isOpen) return;
    const action = heartbeatAction(Date.now() - this.lastHeard);
    // A half-open connection (the phone changed networks): drop it and reconnect.
    if (action === "drop") {
      try { this.ws.close(4000, "silent"); } catch { /* ignore */ }
    } else if (action === "ping") {
      this.send({ type: "ping" });
    }
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const delay = backoffMs(this.attempt);
    this.attempt += 1;
    this.onState("connecting");
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

/**
 * A worker app's stream: a LiveStream whose state is shown as "live", "reconnecting" or
 * "offline" (``paintConnection`` on the app's #conn pill) and which sends the app back to its
 * login when the server ended the session. ``onMessage(msg, seq)`` answers the seq processed.
 * @param {object} opts
 * @param {string} opts.path  e.g. "/ws/pick"
 * @param {(msg: object, seq: number|null) => number|null} opts.onMessage
 * @param {(state: string) => void} opts.connection
 * @param {() => void} opts.sessionEnded
 */
export function createWorkerStream({ path, onMessage, connection, sessionEnded }) {
  let seq = null;
  let shown = "offline";
  const show = (s) => { shown = s; connection(s); };
  const stream = new LiveStream({
    path,
    lastSeq: () => seq,
    onMessage(msg) { seq = onMessage(msg, seq); },
    onState(s, info) {
      show(s === "open" ? "live" : s === "connecting" || navigator.onLine ? "reconnecting" : "offline");
      if (s === "closed" && info && afterClose(info, navigator.onLine) === "login") sessionEnded();
    },
  });
  return {
    start() { stream.start(); },
    stop() { seq = null; stream.stop(); },
    kick() { stream.kick(); },
    relabel() { connection(shown); }, // the language changed
    get seq() { return seq; },
  };
}

/** The stream's state on a top bar's #conn pill (hidden when nobody is logged in). */
export function paintConnection(pill, s, t, loggedIn) {
  pill.hidden = !loggedIn;
  pill.className = `pill conn ${s}`;
  pill.querySelector(".conn-text").textContent = t(`conn.${s}`);
  document.body.dataset.live = s;
}
