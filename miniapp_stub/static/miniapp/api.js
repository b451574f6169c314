// The shared API client of the mini-program pages and the console.
// Tokens live in sessionStorage (this tab only) and travel only in the Authorization header,
// never in a URL. Errors are problem+json; ApiError carries the server's `detail` for display.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || `http_${status}`;
    this.problem = problem;
  }
}

async function readBody(response) {
  const type = response.headers.get('Content-Type') || '';
  if (response.status === 204) return null;
  if (type.includes('json')) return response.json();
  return response.text();
}

function problemOf(status, body) {
  if (body && typeof body === 'object') return body;
  return { title: `HTTP ${status}`, detail: typeof body === 'string' && body ? body.slice(0, 300) : `HTTP ${status}` };
}

export function newKey() {
  return crypto.randomUUID();
}

export function createApi(storageKey) {
  let refreshing = null;
  const tokens = () => JSON.parse(sessionStorage.getItem(storageKey) || 'null');

  function setTokens(pair) {
    sessionStorage.setItem(storageKey, JSON.stringify({ access: pair.access_token, refresh: pair.refresh_token }));
  }

  function setAccessToken(access) {
    const current = tokens() || {};
    sessionStorage.setItem(storageKey, JSON.stringify({ ...current, access }));
  }

  function clearTokens() {
    sessionStorage.removeItem(storageKey);
  }

  async function refresh() {
    const current = tokens();
    if (!current || !current.refresh) return false;
    // One refresh at a time: refresh tokens are single use, a second spend would revoke the family.
    refreshing ??= (async () => {
      const response = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: current.refresh }),
      });
      if (!response.ok) { clearTokens(); return false; }
      setTokens(await response.json());
      return true;
    })().finally(() => { refreshing = null; });
    return refreshing;
  }

  function headersFor(extra) {
    const headers = new Headers(extra || {});
    const current = tokens();
    if (current && current.access) headers.set('Authorization', `Bearer ${current.access}`);
    return headers;
  }

  async function request(method, path, { json, query, key, retried } = {}) {
    let url = path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    const headers = headersFor();
    const init = { method, headers };
    if (json !== undefined) {
      headers.set('Content-Type', 'application/json');
      init.body = JSON.stringify(json);
    }
    if (key) headers.set('Idempotency-Key', key);
    const response = await fetch(url, init);
    if (response.status === 401 && !retried && tokens() && await refresh()) {
      return request(method, path, { json, query, key, retried: true });
    }
    const body = await readBody(response);
    if (!response.ok) throw new ApiError(response.status, problemOf(response.status, body));
    return body;
  }

  // XMLHttpRequest because fetch has no upload progress events.
  function upload(path, form, onProgress, retried = false) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      const current = tokens();
      if (current && current.access) xhr.setRequestHeader('Authorization', `Bearer ${current.access}`);
      xhr.responseType = 'text';
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener('load', async () => {
        let body = xhr.responseText;
        try { body = JSON.parse(body); } catch { /* not JSON: shown as text */ }
        if (xhr.status === 401 && !retried && await refresh()) {
          upload(path, form, onProgress, true).then(resolve, reject);
        } else if (xhr.status >= 200 && xhr.status < 300) {
          if (onProgress) onProgress(1);
          resolve(body);
        } else {
          reject(new ApiError(xhr.status, problemOf(xhr.status, body)));
        }
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, { detail: '网络错误 / network error' })));
      xhr.send(form);
    });
  }

  // A protected file saved through a blob URL: a plain link could not carry the Authorization
  // header, and the token must never go into the URL.
  async function download(path, fallbackName, retried = false) {
    const response = await fetch(path, { headers: headersFor() });
    if (response.status === 401 && !retried && await refresh()) return download(path, fallbackName, true);
    if (!response.ok) throw new ApiError(response.status, problemOf(response.status, await readBody(response)));
    const disposition = response.headers.get('Content-Disposition') || '';
    const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
    const plain = /filename="([^"]+)"/i.exec(disposition);
    const name = encoded ? decodeURIComponent(encoded[1]) : plain ? plain[1] : fallbackName;
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return name;
  }

  return {
    request,
    upload,
    download,
    get: (path, query) => request('GET', path, { query }),
    post: (path, json, opts = {}) => request('POST', path, { json, ...opts }),
    patch: (path, json) => request('PATCH', path, { json }),
    del: (path) => request('DELETE', path),
    setTokens,
    setAccessToken,
    clearTokens,
    signedIn: () => Boolean(tokens()),
    // For the hearing WebSocket's first message (a socket cannot carry the header).
    accessToken: () => (tokens() || {}).access || null,
  };
}
