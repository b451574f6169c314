// Display names for court codes and cause codes (public reference data), fetched once per page
// load. A lookup that fails falls back to the code: a name is a nicety, the code is the record.
const courts = new Map();
const causes = new Map();

export function courtName(api, code) {
  if (!code) return Promise.resolve('—');
  if (!courts.has(code)) {
    courts.set(code, api.get(`/api/v1/filing/courts/${encodeURIComponent(code)}`)
      .then((c) => `${c.name_zh} (${code})`, () => code));
  }
  return courts.get(code);
}

export function causeName(api, code) {
  if (!code) return Promise.resolve('—');
  if (!causes.has(code)) {
    causes.set(code, api.get('/api/v1/filing/causes', { q: code.slice(0, 50), limit: 200 })
      .then((page) => {
        const found = page.items.find((c) => c.code === code);
        return found ? `${found.name_zh} · ${found.name_en}` : code;
      }, () => code));
  }
  return causes.get(code);
}

// A text node filled in when the name arrives.
export function named(lookup, api, code) {
  const node = document.createTextNode(code || '—');
  lookup(api, code).then((name) => { node.textContent = name; });
  return node;
}
