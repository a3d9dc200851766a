// Loading a wasm-bindgen module once, for both entries (index.js and nik.js): a failed load
// is remembered, so that the synchronous NIK functions rethrow it with what went wrong.

/**
 * `{ init, needLoaded }` for `initWasm` (the glue's default export); `defaultUrl()` is where
 * the glue looks for the .wasm when `init()` gets no source.
 */
export function makeLoader(initWasm, defaultUrl) {
  let ready = null;
  let loaded = false;
  let failure = null;

  function init(wasmSource) {
    if (!ready) {
      const arg = wasmSource === undefined ? undefined : { module_or_path: wasmSource };
      ready = initWasm(arg).then(
        () => { loaded = true; failure = null; },
        async (e) => {
          ready = null;
          failure = await loadFailure(e, wasmSource === undefined ? defaultUrl() : wasmSource);
          throw failure;
        },
      );
    }
    return ready;
  }

  function needLoaded() {
    if (failure) throw failure;
    if (!loaded) {
      throw new Error('dukcapil-facematch: await init() before calling parseNik or isValidNik');
    }
  }

  return { init, needLoaded };
}

/** The URL a wasm source names, or null (bytes, a Response, a Module). */
function urlOf(source) {
  try {
    if (typeof source === 'string' || source instanceof URL) {
      return new URL(source, globalThis.location?.href).href;
    }
    if (typeof Request !== 'undefined' && source instanceof Request) return source.url;
  } catch { /* not a URL */ }
  return null;
}

/**
 * An Error saying which URL was tried and what came back (a dev server's HTML page for a
 * wrong path is the usual case), with the original error as `cause`.
 */
async function loadFailure(cause, source) {
  if (cause instanceof WebAssembly.CompileError && !hasWasmSimd()) {
    return new Error('dukcapil-facematch needs WebAssembly SIMD: Chrome 91, Firefox 90, Safari 16.4 or later', { cause });
  }
  const url = urlOf(source);
  let got = '';
  if (url !== null) {
    try {
      const res = await fetch(url);
      const head = new Uint8Array(await res.arrayBuffer()).subarray(0, 16);
      const text = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      got = `: HTTP ${res.status} ${res.headers.get('content-type') || 'with no content type'}, `
        + `starting "${text}" (a .wasm file starts "\\0asm")`;
    } catch (e) {
      got = `: fetching it again failed too (${e && e.message})`;
    }
  }
  const from = url === null ? 'from the source given to init()' : `from ${url}`;
  return new Error(`dukcapil-facematch: could not load the WebAssembly module ${from}${got}. `
    + 'Serve the .wasm next to the package\'s JS, or pass its URL or bytes to init() '
    + '(package README, "Loading the .wasm").', { cause });
}

/**
 * Whether this browser can run the module: it validates a module using a WebAssembly SIMD
 * instruction. A form can ask before `init()`, to say so instead of offering the form.
 */
export function hasWasmSimd() {
  try {
    // (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)
    return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123,
      3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
  } catch {
    return false;
  }
}
