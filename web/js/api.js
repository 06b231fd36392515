// REST client (docs/PROTOCOL.md). Every failure becomes an Error with the server's readable message.

async function call(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) init.body = body;
    else { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new Error((data && (data.message || data.error)) || `${res.status} ${res.statusText}`);
    err.status = res.status; err.code = data?.error;
    throw err;
  }
  return data;
}

export const api = {
  battles: async () => { const d = await call('GET', '/api/battles'); return Array.isArray(d) ? d : d?.battles ?? []; },
  battle: (id) => call('GET', `/api/battles/${encodeURIComponent(id)}`),
  createBattle: (spec, adminToken) => call('POST', '/api/battles', spec, adminToken ? { Authorization: `Bearer ${adminToken}` } : {}),
  endBattle: (id, adminToken) => call('DELETE', `/api/battles/${encodeURIComponent(id)}`, undefined, adminToken ? { Authorization: `Bearer ${adminToken}` } : {}),
  tracks: async () => { const d = await call('GET', '/api/tracks'); return Array.isArray(d) ? d : d?.tracks ?? []; },
  /** Uploads an audio file (raw body); resolves to the new track. */
  upload: (file) => call('POST', `/api/tracks?name=${encodeURIComponent(file.name.replace(/\.[^.]+$/, ''))}`, file),
};
