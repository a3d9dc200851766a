// dukcapil-facematch: the npm entry. A thin layer over the wasm exports (see src/*.rs):
// it loads the module, and runs the FaceMatch client's transport (fetch, timeout, abort).
// Every rule (NIK, image checks, answer reading) is Rust code shared with the proxy.
import initWasm, * as wasm from './dukcapil_web.js';

export { NikError, SelfieError, FaceMatchError } from './errors.js';

let ready = null;
let loaded = false;

/**
 * Loads the wasm module. Async APIs call it themselves; call it (once) before the sync
 * `parseNik`/`isValidNik`. Pass a URL, Response or BufferSource to load the .wasm from
 * elsewhere (a CDN, a strict CSP).
 */
export function init(wasmSource) {
  if (!ready) {
    const arg = wasmSource === undefined ? undefined : { module_or_path: wasmSource };
    ready = initWasm(arg).then(
      () => { loaded = true; },
      (e) => { ready = null; throw e; },
    );
  }
  return ready;
}

function needLoaded() {
  if (!loaded) {
    throw new Error('dukcapil-facematch: await init() before calling parseNik or isValidNik');
  }
}

export function parseNik(input) {
  needLoaded();
  return wasm.parseNik(input);
}

export function isValidNik(input) {
  needLoaded();
  return wasm.isValidNik(input);
}

export async function prepareSelfie(source, options) {
  await init();
  return wasm.prepareSelfie(source, options);
}

// verify-path:start (cargo xtask codegen)
const VERIFY_PATH = '/v1/dukcapilWithFacematch';
// verify-path:end
const DEFAULT_TIMEOUT_MS = 30000;

export class FaceMatchClient {
  #url;
  #token;
  #timeoutMs;
  #fetch;

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
    const base = o.endpoint.replace(/\/+$/, '');
    // A base URL gets the path appended; a full endpoint URL is taken as it is.
    this.#url = base.endsWith(VERIFY_PATH) ? base : base + VERIFY_PATH;
    this.#token = o.token;
    this.#timeoutMs = timeout;
    this.#fetch = o.fetch || ((input, initArg) => globalThis.fetch(input, initArg));
  }

  async verify(request) {
    const r = request || {};
    await init();
    const selfie = r.selfie !== null && typeof r.selfie === 'object' ? r.selfie.base64 : r.selfie;
    // Throws a FaceMatchError before anything is sent.
    const body = wasm.checkVerifyRequest(r.nik, selfie, r.transactionId);
    const signal = r.signal;
    if (signal && signal.aborted) throw wasm.faceMatchError('ABORTED', signal.reason);

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
        const res = await this.#fetch(this.#url, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: ctrl.signal,
        });
        status = res.status;
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        if (timedOut) throw wasm.faceMatchError('TIMEOUT', e);
        if (signal && signal.aborted) throw wasm.faceMatchError('ABORTED', signal.reason);
        throw wasm.faceMatchError('NETWORK', e);
      }
      return wasm.readVerifyResponse(status, bytes);
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
    }
  }
}
