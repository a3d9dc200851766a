// dukcapil-facematch/nik: NIK parsing and validation alone, with its own small wasm module
// (the NIK rules and region names; no JPEG encoder, resizer or client). Same API and the same
// NikError class as the main entry.
import initWasm, * as wasm from './dukcapil_nik.js';
import { makeLoader } from './loader.js';

export { NikError } from './errors.js';

const loader = makeLoader(initWasm, () => new URL('dukcapil_nik_bg.wasm', import.meta.url));

/** Loads the NIK module; await it (once) before `parseNik`/`isValidNik`. */
export const init = loader.init;

export function parseNik(input, options) {
  loader.needLoaded();
  return wasm.parseNik(input, options);
}

export function isValidNik(input) {
  loader.needLoaded();
  return wasm.isValidNik(input);
}
