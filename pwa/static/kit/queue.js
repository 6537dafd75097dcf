// The offline action queue: every action is stored in IndexedDB with its
// Idempotency-Key before it is sent, and replayed in order until the server
// answers. A replay of the same key is applied once by the server.

const STORE = "queue";

/** What to do with a queued action after the server answered ``status``. */
export function replayOutcome(status) {
  if (status === 401) return "login";       // keep it; send again after logging in
  if (status >= 200 && status < 300) return "done";
  if (status >= 500 || status === 408 || status === 429) return "retry"; // keep it; try again later
  return "refused";                          // 4xx: the server's state wins, drop it and say why
}

/** A new action with a fresh idempotency key. */
export function newAction(kind, fields, { uuid, now }) {
  return { key: uuid(), kind, method: "POST", createdAt: now(), ...fields };
}

/** The queue kept in the IndexedDB database ``dbName`` (one per app). */
export function openQueue(dbName, idb = globalThis.indexedDB) {
  let dbPromise = null;
  const db = () => {
    dbPromise ??= new Promise((resolve, reject) => {
      const req = idb.open(dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "n", autoIncrement: true });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return dbPromise;
  };
  const request = (req) => new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  async function tx(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction(STORE, mode);
      let result;
      Promise.resolve(fn(t.objectStore(STORE))).then((r) => { result = r; });
      t.oncomplete = () => resolve(result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("IndexedDB transaction aborted"));
    });
  }
  return {
    /** Add an action; resolves to the stored item (with its queue number ``n``). */
    async add(item) {
      const n = await tx("readwrite", (s) => request(s.add(item)));
      return { ...item, n };
    },
    /** Every queued action, oldest first. */
    async all() {
      const items = await tx("readonly", (s) => request(s.getAll()));
      return items.sort((a, b) => a.n - b.n);
    },
    put: (item) => tx("readwrite", (s) => request(s.put(item))).then(() => undefined),
    remove: (n) => tx("readwrite", (s) => request(s.delete(n))).then(() => undefined),
    clear: () => tx("readwrite", (s) => request(s.clear())).then(() => undefined),
  };
}

/** A random v4 UUID, also where crypto.randomUUID is missing (plain http on a LAN address). */
export function uuid(c = globalThis.crypto) {
  if (c.randomUUID) return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
