// Web Push for a worker app: permission asked on a tap (browsers allow the prompt only
// then), the browser subscribed with the server's key, and the subscription kept with the
// logged-in user (POST /push/subscriptions), so messages reach the phone when the app is closed.
import { request } from "./api.js";

/** The state to show: "unsupported", "denied", "ask" (not yet asked or not subscribed) or "on". */
export async function pushState(scope, env = globalThis) {
  if (!supported(env)) return "unsupported";
  if (env.Notification.permission === "denied") return "denied";
  if (env.Notification.permission !== "granted") return "ask";
  const reg = await env.navigator.serviceWorker.getRegistration(scope);
  return (await reg?.pushManager.getSubscription()) ? "on" : "ask";
}

/**
 * Ask, subscribe and register; resolves to {state, res?}: state as ``pushState``, or "failed"
 * with the server's answer ``res`` (shown as a sentence by the app).
 */
export async function enablePush(scope, env = globalThis) {
  if (!supported(env)) return { state: "unsupported" };
  const permission = await env.Notification.requestPermission();
  if (permission !== "granted") return { state: permission === "denied" ? "denied" : "ask" };
  const reg = (await env.navigator.serviceWorker.getRegistration(scope)) || (await env.navigator.serviceWorker.ready);
  let sub = await reg.pushManager.getSubscription();
  if (!sub) {
    const key = await request("GET", "/push/key");
    if (!key.ok) return { state: "failed", res: key };
    sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.data.publicKey) });
  }
  const res = await request("POST", "/push/subscriptions", { body: sub.toJSON() });
  return res.ok ? { state: "on" } : { state: "failed", res };
}

/** The VAPID public key (base64url) as the bytes pushManager.subscribe() wants. */
export function keyBytes(base64url) {
  const b64 = String(base64url).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function supported(env) {
  return Boolean(env.navigator?.serviceWorker && env.PushManager && env.Notification);
}
