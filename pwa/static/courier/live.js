// The live stream: one websocket to /ws/courier that resumes with ?after=<seq>,
// reconnects with exponential backoff, and watches its own liveness.

const MAX_BACKOFF_MS = 10_000;
const CLIENT_PING_MS = 20_000;   // we ping the server this often...
const SILENCE_LIMIT_MS = 45_000; // ...and give up on a connection that stays silent this long

export class LiveStream {
  /**
   * @param {object} opts
   * @param {() => number|null} opts.lastSeq  the highest seq processed (null: ask for a snapshot)
   * @param {(msg: object) => void} opts.onMessage
   * @param {(state: "open"|"connecting"|"closed", info?: object) => void} opts.onState
   */
  constructor({ lastSeq, onMessage, onState }) {
    this.lastSeq = lastSeq;
    this.onMessage = onMessage;
    this.onState = onState;
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

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const seq = this.lastSeq();
    const query = seq !== null && seq !== undefined ? `?after=${encodeURIComponent(seq)}` : "";
    return `${proto}//${location.host}/ws/courier${query}`;
  }

  connect() {
    clearTimeout(this.timer);
    this.onState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
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
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.onMessage(msg);
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
    const silent = Date.now() - this.lastHeard;
    if (silent > SILENCE_LIMIT_MS) {
      // A half-open connection (the phone changed networks): drop it and reconnect.
      try { this.ws.close(4000, "silent"); } catch { /* ignore */ }
      return;
    }
    if (silent > CLIENT_PING_MS) this.send({ type: "ping" });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.onState("connecting");
    this.timer = setTimeout(() => this.connect(), Math.min(delay, MAX_BACKOFF_MS));
  }
}
