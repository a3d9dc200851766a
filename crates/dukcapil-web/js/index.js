// dukcapil-facematch: the npm entry. A thin layer over the wasm exports (see src/*.rs):
// it loads the module, and runs the FaceMatch client's transport (fetch, timeout, abort).
// `dukcapil-facematch/nik` (nik.js) is the NIK part alone, with its own small module.
// Every rule (NIK, image checks, answer reading) is Rust code shared with the proxy.
import initWasm, * as wasm from './dukcapil_web.js';
import { makeLoader } from './loader.js';

export { hasWasmSimd } from './loader.js';

export { NikError, SelfieError, FaceMatchError } from './errors.js';

const loader = makeLoader(initWasm, () => new URL('dukcapil_web_bg.wasm', import.meta.url));

/**
 * Loads the wasm module. Async APIs call it themselves; call it (once) before the sync
 * `parseNik`/`isValidNik`. Pass a URL, Response or BufferSource to load the .wasm from
 * elsewhere (a CDN, a strict CSP), or its bytes (Node, Vitest).
 */
export const init = loader.init;
const needLoaded = loader.needLoaded;

export function parseNik(input, options) {
  needLoaded();
  return wasm.parseNik(input, options);
}

export function isValidNik(input) {
  needLoaded();
  return wasm.isValidNik(input);
}

export async function prepareSelfie(source, options) {
  await init();
  return wasm.prepareSelfie(source, options);
}

// client-limits:start (cargo xtask codegen)
const MAX_ANSWER_BYTES = 65536;
const VERIFY_PATH = '/v1/dukcapilWithFacematch';
const DEFAULT_RETRIES = 2;
const MAX_RETRIES = 10;
const DEFAULT_RETRY_DELAY_MS = 500;
// client-limits:end
const DEFAULT_TIMEOUT_MS = 30000;

/** `Retry-After` in milliseconds (seconds, or an HTTP date), or null. */
function retryAfterMs(value) {
  if (value === null || value === '') return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Waits `ms`, or throws ABORTED (for `url`) as soon as `signal` aborts. */
function pause(ms, signal, url) {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer);
      reject(wasm.faceMatchError('ABORTED', signal.reason, url));
    };
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    if (signal) signal.addEventListener('abort', aborted, { once: true });
  });
}

/**
 * The answer's bytes, or null when there are more than `cap` (then the rest is not read, so a
 * hostile or broken endpoint cannot make the page buffer megabytes).
 */
async function readCapped(res, cap) {
  const declared = res.headers.get('content-length');
  const reader = declared !== null && Number(declared) > cap ? null : res.body?.getReader();
  if (reader === null) {
    res.body?.cancel().catch(() => {});
    return null;
  }
  // Our answers are small: one buffer of the cap, filled in place.
  const out = new Uint8Array(cap);
  let at = 0;
  while (reader) {
    const { value, done } = await reader.read();
    if (done) break;
    if (at + value.byteLength > cap) {
      reader.cancel().catch(() => {});
      return null;
    }
    out.set(value, at);
    at += value.byteLength;
  }
  return out.subarray(0, at);
}

/**
 * The verify URL for `endpoint` (the proxy's base URL, or its full verify URL), joined with the
 * URL API; the wasm module checks the endpoint (and throws a TypeError saying what is wrong).
 */
function verifyUrl(endpoint) {
  let joined = '';
  try {
    const u = new URL(endpoint);
    const path = u.pathname.replace(/\/+$/, '');
    u.pathname = path.endsWith(VERIFY_PATH) ? path : path + VERIFY_PATH;
    joined = u.href;
  } catch { /* not a URL: refused by the check */ }
  return wasm.verifyUrl(endpoint, joined);
}

/** Why a fetch failed with no answer: a cross-origin proxy may be refusing CORS. */
function networkReason(url) {
  const here = globalThis.location?.origin;
  const there = new URL(url).origin;
  const why = `no answer from ${there}: the proxy is unreachable, or it answered with a redirect (never followed)`;
  if (!here || here === there) return why;
  return `${why}, or its CORS answer does not allow this page's origin (${here}) with the headers `
    + 'authorization, content-type and transactionid (see the package README, "The proxy"; the '
    + 'browser console names the CORS error)';
}

export class FaceMatchClient {
  #endpoint;
  #token;
  #timeoutMs;
  #allowSandbox;
  #fetch;
  #retries;
  #retryDelayMs;

  constructor(options) {
    const o = options || {};
    if (typeof o.endpoint !== 'string' || o.endpoint === '') {
      throw new TypeError('FaceMatchClient: `endpoint` (the proxy base URL) is required');
    }
    if (o.token !== undefined && typeof o.token !== 'string' && typeof o.token !== 'function') {
      throw new TypeError('FaceMatchClient: `token` must be a string or a function');
    }
    const timeout = o.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : o.timeoutMs;
    if (typeof timeout !== 'number' || !(timeout > 0)) {
      throw new TypeError('FaceMatchClient: `timeoutMs` must be a positive number');
    }
    const retries = o.retries === undefined ? DEFAULT_RETRIES : o.retries;
    if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
      throw new TypeError(`FaceMatchClient: \`retries\` must be a whole number from 0 to ${MAX_RETRIES}`);
    }
    const retryDelayMs = o.retryDelayMs === undefined ? DEFAULT_RETRY_DELAY_MS : o.retryDelayMs;
    if (typeof retryDelayMs !== 'number' || !(retryDelayMs >= 0) || !Number.isFinite(retryDelayMs)) {
      throw new TypeError('FaceMatchClient: `retryDelayMs` must be a number of milliseconds');
    }
    if (o.allowSandbox !== undefined && typeof o.allowSandbox !== 'boolean') {
      throw new TypeError('FaceMatchClient: `allowSandbox` must be a boolean');
    }
    // Checked (https:, or http: on loopback) by the wasm module on the first `verify`.
    this.#endpoint = o.endpoint;
    this.#token = o.token;
    this.#timeoutMs = timeout;
    this.#allowSandbox = o.allowSandbox === true;
    this.#fetch = o.fetch || ((input, initArg) => globalThis.fetch(input, initArg));
    this.#retries = retries;
    this.#retryDelayMs = retryDelayMs;
  }

  async verify(request) {
    const r = request || {};
    await init();
    // Throws a TypeError for an endpoint that is not https: (or http: on loopback).
    const url = verifyUrl(this.#endpoint);
    const selfie = r.selfie !== null && typeof r.selfie === 'object' ? r.selfie.base64 : r.selfie;
    // Throws a FaceMatchError before anything is sent.
    const body = wasm.checkVerifyRequest(r.nik, selfie, r.transactionId);
    const signal = r.signal;
    if (signal && signal.aborted) throw wasm.faceMatchError('ABORTED', signal.reason);
    for (let attempt = 0; ; attempt++) {
      const answer = { retryAfter: null };
      try {
        return await this.#attempt(url, body, r, answer);
      } catch (e) {
        // The rule is the core's (dukcapil_core::contract::retry); only the same transaction
        // is retried, so the proxy's ledger answers a finished one from its record.
        const delay = wasm.retryDelay(
          typeof e?.code === 'string' ? e.code : '', e?.status ?? 0, retryAfterMs(answer.retryAfter) ?? NaN,
          attempt, this.#retries, this.#retryDelayMs, r.transactionId !== undefined, Math.random(),
        );
        if (delay === undefined) throw e;
        await pause(delay, signal, url);
      }
    }
  }

  /** One request; `answer.retryAfter` gets the answer's `Retry-After`, if any. */
  async #attempt(url, body, r, answer) {
    const signal = r.signal;
    const headers = { 'content-type': 'application/json' };
    if (r.transactionId !== undefined) headers.transactionId = r.transactionId;
    if (this.#token !== undefined) {
      let token;
      try {
        token = typeof this.#token === 'function' ? await this.#token() : this.#token;
      } catch (e) {
        throw wasm.faceMatchError('UNAUTHORIZED', e);
      }
      if (typeof token !== 'string' || token === '') throw wasm.faceMatchError('UNAUTHORIZED');
      headers.authorization = 'Bearer ' + token;
    }

    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; ctrl.abort(); }, this.#timeoutMs);
    const onAbort = () => ctrl.abort();
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    try {
      let status;
      let bytes;
      try {
        const res = await this.#fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: ctrl.signal,
          // A redirect would resend the NIK, the selfie and the token elsewhere.
          redirect: 'error',
        });
        status = res.status;
        answer.retryAfter = res.headers.get('retry-after');
        bytes = await readCapped(res, MAX_ANSWER_BYTES);
      } catch (e) {
        if (timedOut) throw wasm.faceMatchError('TIMEOUT', e, url);
        if (signal && signal.aborted) throw wasm.faceMatchError('ABORTED', signal.reason, url);
        throw wasm.faceMatchError('NETWORK', e, url, networkReason(url));
      }
      // Only our envelope, answering this transaction (and no sandbox unless allowed), counts.
      return wasm.readVerifyResponse(status, bytes ?? new Uint8Array(0), r.transactionId, this.#allowSandbox, bytes === null, url);
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
    }
  }
}
