// The offline action queue: every courier action is stored in IndexedDB with its
// idempotency key before it is sent, and replayed in order until the server answers.

const DB_NAME = "laadbak-courier";
const STORE = "queue";

let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(STORE, { keyPath: "n", autoIncrement: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    const store = t.objectStore(STORE);
    let result;
    Promise.resolve(fn(store)).then((r) => { result = r; });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error("IndexedDB transaction aborted"));
  });
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Add an action; resolves to the stored item (with its queue number ``n``). */
export async function add(item) {
  const n = await tx("readwrite", (s) => request(s.add(item)));
  return { ...item, n };
}

/** Every queued action, oldest first. */
export async function all() {
  const items = await tx("readonly", (s) => request(s.getAll()));
  return items.sort((a, b) => a.n - b.n);
}

export async function put(item) {
  await tx("readwrite", (s) => request(s.put(item)));
}

export async function remove(n) {
  await tx("readwrite", (s) => request(s.delete(n)));
}

export async function clear() {
  await tx("readwrite", (s) => request(s.clear()));
}
