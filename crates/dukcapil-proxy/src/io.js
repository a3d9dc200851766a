// The Worker's I/O primitives, called from glue.rs. Each performs one piece of I/O in one call
// from wasm, so a request crosses between wasm and JS a handful of times rather than dozens
// (every crossing, promise and closure costs CPU time the platform bills). The limits and the
// meaning of every outcome come from the Rust side; nothing here decides anything else.

/** Three fresh UUIDs (v4, from the runtime's CSPRNG), space-separated. */
export function ids() {
  return `${crypto.randomUUID()} ${crypto.randomUUID()} ${crypto.randomUUID()}`;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256 = { name: 'ECDSA', hash: 'SHA-256' };
const utf8 = new TextEncoder();

/**
 * The receipt signing key as a non-extractable CryptoKey: `privateJwk` (JSON) imported, or
 * without one a fresh P-256 pair (whose public x and y come back too). Resolves
 * `[key, x, y]` (x and y null for an imported key), or null if WebCrypto refuses.
 */
export async function loadKey(privateJwk) {
  try {
    if (privateJwk === undefined) {
      const pair = await crypto.subtle.generateKey(ECDSA_P256, false, ['sign', 'verify']);
      const { x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
      return [pair.privateKey, x, y];
    }
    const key = await crypto.subtle.importKey('jwk', JSON.parse(privateJwk), ECDSA_P256, false, ['sign']);
    return [key, null, null];
  } catch {
    return null;
  }
}

/**
 * ECDSA P-256 / SHA-256 over the UTF-8 of `input`. WebCrypto gives `r || s` (64 bytes), which
 * is JWS's ES256 signature as it is. Resolves the bytes, or null.
 */
export async function sign(key, input) {
  try {
    return new Uint8Array(await crypto.subtle.sign(ES256, key, utf8.encode(input)));
  } catch {
    return null;
  }
}

/**
 * Asks the rate limiting binding `name` about `key`: `'allowed'`, `'limited'`, `'missing'` (no
 * such binding) or `'failed'`.
 */
export async function limit(env, name, key) {
  const binding = env[name];
  if (binding === undefined || typeof binding.limit !== 'function') return 'missing';
  try {
    const { success } = await binding.limit({ key });
    return success === true ? 'allowed' : 'limited';
  } catch {
    return 'failed';
  }
}

/**
 * Sends `request` (JSON) to the Durable Object named `name` in the namespace `env[binding]`
 * (the transaction ledger). Resolves its answer (JSON), `'missing'` (no such binding) or
 * `'failed'` (it threw, or answered other than 200).
 */
export async function askLedger(env, binding, name, request) {
  const ns = env[binding];
  if (ns === undefined || typeof ns.idFromName !== 'function') return 'missing';
  try {
    const stub = ns.get(ns.idFromName(name));
    const res = await stub.fetch('https://ledger.internal/', { method: 'POST', body: request });
    const text = await res.text();
    return res.status === 200 ? text : 'failed';
  } catch {
    return 'failed';
  }
}

// The ledger's Durable Object keeps one row: its record, as JSON (see logic/ledger.rs).
const LEDGER_SCHEMA = 'CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL)';

/** A request's body as text. */
export function bodyText(request) {
  return request.text();
}

/** The ledger's stored record (JSON), or null. Throws if SQLite does. */
export function ledgerLoad(state) {
  const sql = state.storage.sql;
  sql.exec(LEDGER_SCHEMA);
  const rows = sql.exec('SELECT record FROM ledger WHERE id = 1').toArray();
  return rows.length === 0 ? null : rows[0].record;
}

/** Stores the ledger's record (JSON), synchronously. Throws if SQLite does. */
export function ledgerSave(state, record) {
  state.storage.sql.exec(
    'INSERT INTO ledger (id, record) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record',
    record,
  );
}

/** Sets the object's alarm for `atMs` (Unix ms). */
export function ledgerAlarm(state, atMs) {
  return state.storage.setAlarm(atMs);
}

/** Deletes everything the object stores, and its alarm. */
export async function ledgerDelete(state) {
  await state.storage.deleteAlarm();
  await state.storage.deleteAll();
}

/** The method, URL and the headers the proxy reads, as one JSON array (nulls for absent ones). */
export function head(request, names) {
  const h = request.headers;
  return JSON.stringify([request.method, request.url, ...names.map((n) => h.get(n))]);
}

// Bodies are read into pooled buffers. Requests in one isolate share its memory (128 MB), and
// a dead 2.7 MB buffer is only freed when the garbage collector gets to it: without reuse, 16
// concurrent 2 MB requests peaked at over 90 MB of buffers. Once no body is in use, the pool
// shrinks back to a few buffers.
const POOL_MAX = 16;
const POOL_IDLE = 4;
const POOL_MIN_SIZE = 64 * 1024;
const pool = [];
let bodiesInUse = 0;

function takeBuffer(size) {
  bodiesInUse += 1;
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    if (pool[i].byteLength >= size && (best < 0 || pool[i].byteLength < pool[best].byteLength)) best = i;
  }
  return best < 0 ? new ArrayBuffer(Math.max(size, POOL_MIN_SIZE)) : pool.splice(best, 1)[0];
}

/**
 * Hands a body read by `readBody` back, once nothing needs it: the upstream call copies its body
 * when it starts (the Fetch standard requires it, and workerd does), so after that, only the
 * request's own code could. Buffers of at least 64 KiB are kept for the next bodies.
 */
export function releaseBody(body) {
  bodiesInUse -= 1;
  const buffer = body.buffer;
  if (buffer.byteLength >= POOL_MIN_SIZE && pool.length < POOL_MAX) {
    // A pooled buffer outlives its request: wipe the selfie and NIK it held, never keep them.
    new Uint8Array(buffer, 0, body.byteOffset + body.byteLength).fill(0);
    pool.push(buffer);
  }
  if (bodiesInUse === 0 && pool.length > POOL_IDLE) {
    pool.sort((a, b) => b.byteLength - a.byteLength);
    pool.length = POOL_IDLE;
  }
}

/**
 * The body as one Uint8Array: into one (pooled) buffer of its size when `declared` (HTTP frames
 * exactly that many bytes), else chunk by chunk up to `cap`. `'too_large'` past the cap,
 * `'failed'` if the stream breaks off. A Uint8Array must go back through `releaseBody`.
 */
export async function readBody(request, declared, cap) {
  const stream = request.body;
  if (declared === undefined || stream === null) {
    let body;
    try {
      body = stream === null ? new Uint8Array(0) : await readCapped(stream, cap);
    } catch {
      return 'failed';
    }
    if (typeof body !== 'string') bodiesInUse += 1; // not from the pool, but released all the same
    return body;
  }
  let buffer = takeBuffer(declared);
  try {
    const reader = stream.getReader({ mode: 'byob' });
    let at = 0;
    while (at < declared) {
      const { value, done } = await reader.read(new Uint8Array(buffer, at, declared - at));
      if (done) throw new Error('shorter than declared');
      // Each read hands the buffer back (transferred), filled a little further.
      buffer = value.buffer;
      at += value.byteLength;
    }
    return new Uint8Array(buffer, 0, declared);
  } catch {
    bodiesInUse -= 1;
    return 'failed';
  }
}

/**
 * The upstream body `head + body[start..end] + tail`, written over `body` itself when it fits
 * (it always does for a valid request: the upstream form is the shortest one), else anew.
 */
export function splice(body, head, start, end, tail) {
  const size = head.length + (end - start) + tail.length;
  let out = body;
  if (size <= body.length) {
    body.copyWithin(head.length, start, end); // overlapping moves are safe
  } else {
    out = new Uint8Array(size);
    out.set(body.subarray(start, end), head.length);
  }
  out.set(head, 0);
  out.set(tail, head.length + (end - start));
  return out.subarray(0, size);
}

async function readCapped(stream, cap) {
  // (Also for answers of unknown length.)
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      reader.cancel().catch(() => {});
      return 'too_large';
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/**
 * POSTs `body` and reads the answer (at most `maxAnswer` bytes), all within `timeoutMs`: one
 * abort signal covers the connection and the answer's body. Redirects are never followed: they
 * would resend appId/appKey (or the Turnstile secret) to wherever the answer points.
 * Resolves `[status, bytes, ms]`, or `[outcome, null, ms]` with outcome `'too_large'`,
 * `'timeout'` or `'unreachable'`.
 */
export async function post(url, headersJson, body, timeoutMs, maxAnswer) {
  const started = Date.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const ms = () => Date.now() - started;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: JSON.parse(headersJson),
      body,
      redirect: 'manual',
      signal,
    });
    const length = response.headers.get('content-length');
    let bytes;
    if (length !== null && Number(length) > maxAnswer) {
      response.body?.cancel().catch(() => {});
      return ['too_large', null, ms()];
    } else if (length !== null) {
      bytes = new Uint8Array(await response.arrayBuffer());
    } else {
      bytes = response.body === null ? new Uint8Array(0) : await readCapped(response.body, maxAnswer);
      if (bytes === 'too_large') return ['too_large', null, ms()];
    }
    return [response.status, bytes, ms()];
  } catch {
    return [signal.aborted ? 'timeout' : 'unreachable', null, ms()];
  }
}

/** The answer: `headersJson` is `[[name, value], …]`; an empty body is none. */
export function respond(status, headersJson, body) {
  return new Response(body === '' ? null : body, { status, headers: JSON.parse(headersJson) });
}
