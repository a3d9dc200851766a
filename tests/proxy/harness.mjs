// Shared test harness: the built Worker under Miniflare (the real workerd runtime), the
// HyperVerge double, fixtures, token minting with jose, a receipt signing key, and a transcript
// of every answer and log line so each suite can prove no secret, full NIK or image data ever
// leaks (receipts decoded and scanned too).

import { Miniflare } from 'miniflare';
import { SignJWT, generateKeyPair, exportJWK, decodeJwt, decodeProtectedHeader } from 'jose';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { startDouble as startBareDouble } from './hyperverge-double.mjs';
import { assertNoLeak, tokenNeedles } from './leaks.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCRIPT = process.env.PROXY_SCRIPT ?? path.join(ROOT, 'build/index.js');

// Fake secrets, distinctive so the leak scan cannot miss them.
export const APP_ID = 'fake-app-id-7f3a';
export const APP_KEY = 'fake-app-key-SECRET-9c2e71';
export const JWT_SECRET = 'fake-jwt-secret-SECRET-41d0aa-5e6f7a8b';
export const TURNSTILE_SECRET = 'fake-turnstile-SECRET-0b77';
/** The `aud` of caller tokens, and the receipts' `iss` (the proxy's default). */
export const AUDIENCE = 'dukcapil-facematch';
/** The caller tokens' `iss`: the backend, and so the receipts' `aud`. */
export const BACKEND = 'harness-backend';
/** The transactionId of a token unless a test says otherwise. */
export const TXN = 'txn-harness-1';
let txnCounter = 0;
/** A transactionId no request of this process used before. */
export const freshTxn = () => `txn-harness-${process.pid}-${++txnCounter}`;

/** A fresh P-256 receipt signing key (private JWK, JSON) for this process. */
export async function receiptKey() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const { kty, crv, x, y, d } = await exportJWK(privateKey);
  const jwk = JSON.stringify({ kty, crv, x, y, d });
  receiptPrivates.add(d);
  return jwk;
}
const receiptPrivates = new Set();
export const RECEIPT_KEY = await receiptKey();

/** A valid NIK with the given 4-digit serial (Kota Bandung, born 1990-01-01). */
export const nikWithSerial = (serial) => `327301010190${serial}`;
export const NIK = '3273010101901234';
export const OTHER_NIK = '3273010101904321';

const jpegBytes = (n = 64) => {
  const b = Buffer.alloc(n, 0x5a);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
};
export const JPEG = jpegBytes(300);
export const JPEG_B64 = JPEG.toString('base64');
export const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40, 7)]);
export const GIF_B64 = Buffer.from('GIF89a........').toString('base64');
export { jpegBytes };

export const sha256hex = (s) => createHash('sha256').update(s).digest('hex');
/** `nik_hmac`, as the README tells a backend to compute it. */
export const nikHmac = (nik, secret = JWT_SECRET) =>
  createHmac('sha256', secret).update(`dukcapil-facematch:nik:${nik}`).digest('base64url');

// ---- transcript for the leak scan -------------------------------------------------------
const transcript = [];
const allLogs = [];
const usedTokens = new Set();
const usedImages = new Set([JPEG_B64]);
const usedNiks = new Set([NIK, OTHER_NIK]);
const doubles = [];

export function noteNik(nik) {
  usedNiks.add(nik);
}
export function noteImage(b64) {
  usedImages.add(b64);
}

/**
 * Mints a caller token as a backend does: HS256 with `iss`, `sub`, `aud`, `jti`, `txn` and
 * `nik_hmac` (or another alg, or without some claim, for the negative cases: pass null).
 */
export async function mint({
  nik = NIK, txn = TXN, ttl = 300, iatOffset = 0, sub = 'customer-42', iss = BACKEND, aud = AUDIENCE,
  jti = randomUUID(), alg = 'HS256', secret = JWT_SECRET, key, claims = {},
} = {}) {
  const now = Math.floor(Date.now() / 1000) + iatOffset;
  const payload = { ...claims };
  if (nik) payload.nik_hmac = nikHmac(nik, secret);
  if (txn) payload.txn = txn;
  if (jti) payload.jti = jti;
  let jwt = new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt(now).setExpirationTime(now + ttl);
  if (sub) jwt = jwt.setSubject(sub);
  if (iss) jwt = jwt.setIssuer(iss);
  if (aud) jwt = jwt.setAudience(aud);
  const token = await jwt.sign(key ?? new TextEncoder().encode(secret));
  usedTokens.add(token);
  return token;
}

export function unsignedToken(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
  usedTokens.add(token);
  return token;
}

export async function rsaToken(claims) {
  const { privateKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuedAt(now).setExpirationTime(now + 300).sign(privateKey);
  usedTokens.add(token);
  return token;
}

/** How long `logFor` waits before it gives up: only so that a missing line fails the test. */
const LOG_HANG_GUARD_MS = 30_000;

// ---- the Worker ------------------------------------------------------------------------
export const LIMITS = {
  IP_RATE_LIMITER: { simple: { limit: 1000, period: 60 } },
  SUBJECT_RATE_LIMITER: { simple: { limit: 1000, period: 60 } },
  NIK_RATE_LIMITER: { simple: { limit: 1000, period: 60 } },
};

// The built Worker, byte for byte, inside a wrapper that lets a test look into its instance
// or break it (`instrumented: true`). A first module records each wasm instance the shim
// creates and wraps one of its imports; the wrapper then answers GET /__test/wasm with the live
// instance's heap size and JS-reference table size, and, for a request with
// `x-test-force-panic: yes`, has the length of the next byte array Rust reads claim 4 GiB: the
// copy of the request body then panics ("capacity overflow"), a real Rust panic in the code
// as built.
const TEST_CAPTURE = `
const Real = WebAssembly.Instance;
globalThis.__testInstances = [];
globalThis.__testPanicArmed = false;
WebAssembly.Instance = function Instance(module, imports) {
  for (const glue of Object.values(imports)) {
    const name = Object.keys(glue).find((k) => k.startsWith('__wbg_length_'));
    if (!name) continue;
    const length = glue[name];
    glue[name] = (array) => {
      if (globalThis.__testPanicArmed && array instanceof Uint8Array) {
        globalThis.__testPanicArmed = false;
        return 0xffffffff;
      }
      return length(array);
    };
  }
  const instance = new Real(module, imports);
  globalThis.__testInstances.push(instance);
  return instance;
};
WebAssembly.Instance.prototype = Real.prototype;
`;
const TEST_WRAPPER = `
import './test-capture.mjs';
import Proxy from './index.js';
export { TransactionLedger } from './index.js';
export default class extends Proxy {
  fetch(request) {
    if (new URL(request.url).pathname === '/__test/wasm') {
      const { exports } = globalThis.__testInstances.at(-1);
      return Response.json({
        instances: globalThis.__testInstances.length,
        heapBytes: exports.memory.buffer.byteLength,
        jsRefs: exports.__wbindgen_externrefs.length,
      });
    }
    globalThis.__testPanicArmed = request.headers.get('x-test-force-panic') === 'yes';
    return super.fetch(request);
  }
}
`;
const INSTRUMENTED_MODULES = [
  { type: 'ESModule', path: path.join(path.dirname(SCRIPT), 'test-wrapper.mjs'), contents: TEST_WRAPPER },
  { type: 'ESModule', path: path.join(path.dirname(SCRIPT), 'test-capture.mjs'), contents: TEST_CAPTURE },
  { type: 'ESModule', path: SCRIPT },
  { type: 'CompiledWasm', path: path.join(path.dirname(SCRIPT), 'index_bg.wasm') },
];

// The transaction ledger, as wrangler.toml declares it: the Worker's own SQLite-backed class.
const LEDGER = { LEDGER: { className: 'TransactionLedger', useSQLite: true } };
// A ledger whose Durable Object throws on every request (`ledger: 'failing'`).
const FAILING_LEDGER_WRAPPER = `
import Proxy from './index.js';
export { TransactionLedger } from './index.js';
export class FailingLedger {
  async fetch() {
    throw new Error('the ledger is down');
  }
}
export default Proxy;
`;

/**
 * Starts the proxy with `vars` (strings) layered over a live configuration pointing at
 * `double`. Pass `null` as a value to leave a binding out. `instrumented`: see TEST_WRAPPER.
 * `ledger`: the transaction ledger's binding, `null` for none, or `'failing'` for a Durable
 * Object that throws.
 */
export async function startProxy(vars = {}, { double, ratelimits = LIMITS, instrumented = false, ledger = 'working' } = {}) {
  const base = {
    HV_BASE_URL: double?.url ?? 'http://127.0.0.1:9',
    HV_APP_ID: APP_ID,
    HV_APP_KEY: APP_KEY,
    PROXY_JWT_SECRET: JWT_SECRET,
    RECEIPT_SIGNING_KEY: RECEIPT_KEY,
    ALLOWED_ORIGINS: 'https://kyc.example.co.id,http://localhost:8787',
    UPSTREAM_TIMEOUT_MS: '1500',
  };
  const bindings = Object.fromEntries(Object.entries({ ...base, ...vars }).filter(([, v]) => v !== null));
  const logs = [];
  const waiters = new Set();
  const failingModules = [
    { type: 'ESModule', path: path.join(path.dirname(SCRIPT), 'failing-ledger.mjs'), contents: FAILING_LEDGER_WRAPPER },
    ...INSTRUMENTED_MODULES.slice(2),
  ];
  const plain = { modules: true, scriptPath: SCRIPT, modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }] };
  // An instrumented Worker's ledger runs in a Worker of its own (the same script), as a Durable
  // Object may in production: each live object holds its state's JS reference, which would
  // otherwise count in the instance the test looks into.
  const separateLedger = instrumented && ledger === 'working';
  const proxyWorker = {
    name: 'proxy',
    ...(instrumented
      ? { modules: INSTRUMENTED_MODULES, modulesRoot: path.dirname(SCRIPT) }
      : ledger === 'failing'
        ? { modules: failingModules, modulesRoot: path.dirname(SCRIPT) }
        : plain),
    compatibilityDate: '2026-04-01',
    bindings,
    ratelimits,
    durableObjects: separateLedger
      ? { LEDGER: { ...LEDGER.LEDGER, scriptName: 'ledger' } }
      : { working: LEDGER, failing: { LEDGER: { className: 'FailingLedger', useSQLite: true } } }[ledger] ?? {},
  };
  const ledgerWorker = { name: 'ledger', ...plain, compatibilityDate: '2026-04-01', durableObjects: LEDGER };
  const mf = new Miniflare({
    workers: separateLedger ? [proxyWorker, ledgerWorker] : [proxyWorker],
    handleStructuredLogs: ({ message }) => {
      logs.push(message);
      allLogs.push(message);
      for (const w of [...waiters]) w();
    },
  });
  const url = await mf.ready;
  let ipCounter = 0;
  const proxy = {
    mf,
    url,
    logs,
    /** Dispatches a request and records the answer. Returns { status, headers, text, json }. */
    async fetch(p, init = {}) {
      const headers = new Headers(init.headers ?? {});
      if (!headers.has('cf-connecting-ip') && !init.noIp) headers.set('cf-connecting-ip', `198.51.100.${(ipCounter++ % 250) + 1}`);
      const res = await mf.dispatchFetch(new URL(p, 'https://proxy.test').href, { ...init, headers });
      return record(res);
    },
    /**
     * POSTs a verification request for `txn` (default TXN; null: no transactionId header) with
     * a fresh valid token for it unless `token` is given (null: none).
     */
    async verify({ nik = NIK, image = JPEG_B64, body, token, txn, headers = {}, contentType = 'application/json', tokenNik } = {}) {
      // Each transaction is answered once by the ledger: a request whose token the harness
      // mints gets a transaction of its own unless the test names one; a given token is TXN's.
      if (txn === undefined) txn = token === undefined ? freshTxn() : TXN;
      // contentType null: no header at all (a byte body, so fetch adds none either).
      const h = contentType === null ? { ...headers } : { 'content-type': contentType, ...headers };
      if (txn !== null) h.transactionId = txn;
      if (token === undefined) token = await mint({ nik: tokenNik ?? (typeof nik === 'string' ? nik : NIK), txn: txn ?? TXN });
      if (token !== null) h.authorization = `Bearer ${token}`;
      let payload = body ?? JSON.stringify({ id: nik, image });
      if (contentType === null && typeof payload === 'string') payload = Buffer.from(payload);
      return proxy.fetch('/v1/dukcapilWithFacematch', { method: 'POST', headers: h, body: payload });
    },
    /** The live wasm instance's heap and JS-reference table (an `instrumented` proxy only). */
    async wasm() {
      const res = await mf.dispatchFetch('https://proxy.test/__test/wasm');
      assert.equal(res.status, 200, 'not an instrumented proxy');
      return res.json();
    },
    /** Waits until the log line for `requestId` arrives, and returns it parsed. */
    async logFor(requestId) {
      const line = await proxy.waitForLog((l) => tryJson(l)?.request_id === requestId, `the log line for ${requestId}`);
      return tryJson(line);
    },
    /** Waits until a log line satisfies `accept`, and returns it. */
    waitForLog(accept, what = 'a log line') {
      const line = logs.find(accept);
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        // A hang guard only: lines arrive with their answer or just after it.
        const guard = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${what} in ${LOG_HANG_GUARD_MS} ms`));
        }, LOG_HANG_GUARD_MS);
        const check = () => {
          const l = logs.find(accept);
          if (l === undefined) return;
          clearTimeout(guard);
          waiters.delete(check);
          resolve(l);
        };
        waiters.add(check);
      });
    },
    async dispose() {
      await mf.dispose();
    },
  };
  return proxy;
}

const tryJson = (s) => {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
};

async function record(res) {
  const text = await res.text();
  const headers = Object.fromEntries(res.headers);
  transcript.push({ status: res.status, headers, text });
  return { status: res.status, headers, text, json: tryJson(text) };
}

/** Sends raw bytes to the proxy's HTTP listener (for lying content-length headers). */
export function rawRequest(url, head, bodyChunks = [], { endAfterMs = 0 } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, async () => {
      sock.write(head);
      for (const c of bodyChunks) {
        if (!sock.write(c)) await new Promise((r) => sock.once('drain', r));
      }
      if (endAfterMs) setTimeout(() => sock.end(), endAfterMs);
    });
    let data = '';
    sock.on('data', (d) => {
      data += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      const end = data.indexOf('\r\n\r\n');
      if (m && end >= 0) {
        const len = /content-length: (\d+)/i.exec(data.slice(0, end));
        if (len && data.length >= end + 4 + Number(len[1])) {
          transcript.push({ status: Number(m[1]), headers: {}, text: data });
          sock.destroy();
          resolve({ status: Number(m[1]), raw: data, json: tryJson(data.slice(end + 4)) });
        }
      }
    });
    sock.on('error', (e) => (data ? resolve({ status: 0, raw: data }) : reject(e)));
    sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), raw: data }));
  });
}

/** Asserts the envelope: status, error.code, and the headers every answer carries. */
export function assertError(res, status, code) {
  assert.equal(res.status, status, `status for ${code}: ${res.text.slice(0, 300)}`);
  assert.equal(res.json?.status, 'failure');
  assert.equal(res.json?.statusCode, status);
  assert.equal(res.json?.error?.code, code);
  assert.equal(typeof res.json?.message, 'string');
  assertCommonHeaders(res);
}

export function assertCommonHeaders(res) {
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.match(res.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  assert.match(res.headers['server-timing'] ?? '', /total;dur=/);
  // An answer is data, never a page: nothing in it may run, be framed or leak the URL onwards.
  assert.equal(res.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
}

/** The HyperVerge double, remembered so that the leak scan reads what reached it too. */
export async function startDouble(creds) {
  const double = await startBareDouble(creds);
  doubles.push(double);
  return double;
}

/** Encodes form fields as multipart/form-data the way a browser's FormData does. */
export async function multipart(fields) {
  const fd = new FormData();
  for (const [k, v] of fields) fd.append(k, v);
  const r = new Response(fd);
  return { contentType: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
}

/** Every receipt in the answers so far, as [header JSON, claims JSON]. */
export function receiptsSeen() {
  const out = [];
  for (const t of transcript) {
    for (const m of t.text.matchAll(/"receipt":"([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)"/g)) {
      out.push([JSON.stringify(decodeProtectedHeader(m[1])), JSON.stringify(decodeJwt(m[1]))]);
    }
  }
  return out;
}

/** The needles of the leak scan: every secret, full NIK and token this process used. */
export function leakNeedles() {
  return [
    ['appId', APP_ID],
    ['appKey', APP_KEY],
    ['PROXY_JWT_SECRET', JWT_SECRET],
    ['TURNSTILE_SECRET', TURNSTILE_SECRET],
    ...[...receiptPrivates].map((d) => ['a receipt signing key', d]),
    ...[...usedNiks].filter((n) => /^\d{16}$/.test(n)).map((n) => ['full NIK', n]),
    ...tokenNeedles(usedTokens),
  ];
}

/**
 * What reached upstream besides the contract's own values: each request's route and headers,
 * appId and appKey left out (they belong there). The double itself refuses headers outside
 * the contract; this is for secrets hidden in the ones inside it (a NIK as transactionId).
 */
export function upstreamTexts() {
  return doubles.flatMap((d) => d.traffic.map(({ path, headers }) => {
    const { appid, appkey, ...rest } = headers;
    return JSON.stringify({ path, headers: rest });
  }));
}

/**
 * Scans every answer, log line and upstream request of this process for the secrets, full
 * NIKs and tokens, in any encoding and in pieces of 12 characters or more (leaks.mjs), and
 * answers and logs for image data.
 */
export function assertNoLeaks() {
  assert.ok(transcript.length > 0 && allLogs.length > 0, 'nothing was recorded');
  // Receipts are scanned decoded too: their claims are base64url inside the answer.
  const answers = [...transcript.map((t) => JSON.stringify(t)), ...receiptsSeen().flat()];
  const needles = leakNeedles();
  assertNoLeak(needles, answers, 'an answer');
  assertNoLeak(needles, allLogs, 'a log line');
  assertNoLeak(needles, upstreamTexts(), 'an upstream request');
  const images = [...usedImages].filter((b) => b.length >= 40).map((b) => b.slice(8, 48));
  for (const h of [...answers, ...allLogs]) {
    for (const needle of images) assert.ok(!h.includes(needle), `image data leaked: ${h.slice(0, 200)}`);
  }
  // Every log line of the proxy is one JSON object with a masked NIK at most. (After a panic,
  // worker-build's shim writes its own lines; they were scanned for leaks above.)
  for (const line of allLogs) {
    if (/^(Critical |Reinitializing Wasm application)/.test(line)) continue;
    const l = tryJson(line);
    assert.ok(l && typeof l === 'object', `log line is not JSON: ${line.slice(0, 120)}`);
    if (l.nik) assert.match(l.nik, /^\d{4}\*{10}\d{2}$/);
  }
}
