// The phone's position during the shift (throttled) and the screen wake lock.

import { distanceM } from "./util.js";

const MIN_INTERVAL_MS = 5_000;
const MIN_DISTANCE_M = 25;
const MIN_GAP_MS = 1_000; // even when moving fast, not more than once a second
const KEEPALIVE_MS = 30_000; // standing still: repeat the last fix now and then, so dispatch sees "last seen"

export class PositionTracker {
  /** @param {(pos: {lat, lon, accuracy, ts}) => boolean} send  true when it was sent */
  constructor({ send, onPosition }) {
    this.send = send;
    this.onPosition = onPosition || (() => {});
    this.watchId = null;
    this.lastSent = null; // {lat, lon, at}
    this.latest = null;
    this.error = null;
  }

  get running() {
    return this.watchId !== null;
  }

  start() {
    if (this.running || !("geolocation" in navigator)) return;
    this.timer = setInterval(() => this.maybeSend(), MIN_INTERVAL_MS);
    this.watchId = navigator.geolocation.watchPosition(
      (p) => this.update(p),
      (err) => {
        this.error = ["denied", "unavailable", "timeout"][err.code - 1] || "unavailable"; // shown translated
        this.onPosition(this.latest, this.error);
      },
      { enableHighAccuracy: true, maximumAge: 5_000, timeout: 30_000 },
    );
  }

  stop() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    clearInterval(this.timer);
  }

  update(p) {
    this.error = null;
    this.latest = {
      lat: p.coords.latitude,
      lon: p.coords.longitude,
      accuracy: p.coords.accuracy,
      ts: new Date(p.timestamp || Date.now()).toISOString(),
    };
    this.onPosition(this.latest, null);
    this.maybeSend();
  }

  /** Send the latest position when 5 s have passed or it moved 25 m since the last one sent. */
  maybeSend(force = false) {
    const pos = this.latest;
    if (!pos) return;
    const now = Date.now();
    const last = this.lastSent;
    if (!force && last) {
      const elapsed = now - last.at;
      const moved = distanceM(last, pos);
      if (elapsed < MIN_GAP_MS) return;
      if (elapsed < MIN_INTERVAL_MS && moved < MIN_DISTANCE_M) return;
      if (pos.ts === last.ts && elapsed < KEEPALIVE_MS) return; // no new fix since the last one sent
    }
    const msg = { type: "position", lat: pos.lat, lon: pos.lon, ts: pos.ts };
    if (Number.isFinite(pos.accuracy)) msg.accuracy = Math.round(pos.accuracy * 10) / 10;
    if (this.send(msg)) this.lastSent = { lat: pos.lat, lon: pos.lon, ts: pos.ts, at: now };
  }
}

export class WakeLock {
  constructor() {
    this.wanted = false;
    this.sentinel = null;
    document.addEventListener("visibilitychange", () => {
      if (this.wanted && document.visibilityState === "visible") this.acquire();
    });
  }

  get supported() {
    return "wakeLock" in navigator;
  }

  get held() {
    return !!this.sentinel && !this.sentinel.released;
  }

  async enable() {
    this.wanted = true;
    await this.acquire();
  }

  async disable() {
    this.wanted = false;
    const s = this.sentinel;
    this.sentinel = null;
    if (s && !s.released) await s.release().catch(() => {});
  }

  async acquire() {
    if (!this.supported || this.held || document.visibilityState !== "visible") return;
    try {
      this.sentinel = await navigator.wakeLock.request("screen");
      this.sentinel.addEventListener("release", () => { this.sentinel = null; });
    } catch {
      // Refused (battery saver, not visible): tried again on the next visibilitychange.
      this.sentinel = null;
    }
  }
}
