// A tiny in-memory stand-in for the part of IndexedDB the queue uses.
const later = (fn) => setTimeout(fn, 0);

function req(fn) {
  const r = { onsuccess: null, onerror: null, result: undefined };
  later(() => { r.result = fn(); r.onsuccess?.(); });
  return r;
}

export function fakeIndexedDB() {
  const rows = new Map();
  let next = 1;
  const store = {
    add: (item) => req(() => { const n = next++; rows.set(n, { ...item, n }); return n; }),
    put: (item) => req(() => { rows.set(item.n, { ...item }); return item.n; }),
    getAll: () => req(() => [...rows.values()].map((x) => ({ ...x }))),
    delete: (n) => req(() => { rows.delete(n); }),
    clear: () => req(() => { rows.clear(); }),
  };
  const db = {
    createObjectStore: () => store,
    transaction: () => {
      const t = { objectStore: () => store, oncomplete: null, onerror: null, onabort: null };
      setTimeout(() => t.oncomplete?.(), 5); // after the requests of this turn
      return t;
    },
  };
  return {
    open: () => {
      const r = { result: db, onupgradeneeded: null, onsuccess: null, onerror: null };
      later(() => { r.onupgradeneeded?.(); r.onsuccess?.(); });
      return r;
    },
  };
}
