// Public API of `dukcapil-facematch/nik`: NIK parsing alone, with its own small wasm module.
// Hand-written, except the error-code union (`cargo xtask codegen`). The main entry re-exports
// these types; its `NikError` is the same class.

/**
 * Loads the NIK module (a few KB; not the main entry's). Await it before `parseNik`/
 * `isValidNik`. Pass a URL, Response or BufferSource to load the .wasm from elsewhere, or its
 * bytes (Node, Vitest).
 */
export function init(wasmSource?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** A region named by a NIK (Kemendagri codes, dotted: `32`, `32.01`, `32.01.05`). */
export interface Region {
  code: string;
  /** `null` when the code is not in the bundled tables (district names are never bundled). */
  name: string | null;
}

export interface RegencyRegion extends Region {
  /** The current code when this regency moved province (e.g. `91.01` → `93.01` in 2022). */
  movedTo: string | null;
}

export interface NikInfo {
  /** The 16 digits, separators removed. */
  normalized: string;
  province: Region;
  regency: RegencyRegion;
  district: Region;
  /** ISO `YYYY-MM-DD`. */
  birthDate: string;
  sex: 'male' | 'female';
  /** 1–9999. */
  serial: number;
  /** For logs: `3201**********01`. */
  masked: string;
}

export interface ParseNikOptions {
  /**
   * Also refuse (`NIK_REGENCY`) a regency/city code that is not in the bundled tables. Off by
   * default: codes are for life and the tables list names, not validity, so an unknown code
   * passes (its `name` is `null`). Districts are never checked (their names are not bundled).
   */
  strictRegions?: boolean | undefined;
}

/**
 * Throws a `NikError`; throws a `TypeError` for a non-string. Needs `await init()` first (or
 * rethrows the error of a failed `init()`).
 */
export function parseNik(input: string, options?: ParseNikOptions): NikInfo;
/** Needs `await init()` first. */
export function isValidNik(input: string): boolean;


// nik-error-codes:start (cargo xtask codegen)
export type NikErrorCode =
  | 'NIK_EMPTY'
  | 'NIK_LENGTH'
  | 'NIK_NOT_DIGITS'
  | 'NIK_PROVINCE'
  | 'NIK_REGENCY'
  | 'NIK_DISTRICT'
  | 'NIK_BIRTH_DATE'
  | 'NIK_SERIAL';
// nik-error-codes:end

/**
 * `message` is English; `messageId` is Bahasa Indonesia. Both are fit for end users. The
 * error classes are for `instanceof`: only the module creates them.
 */
export class NikError extends Error {
  private constructor();
  readonly name: 'NikError';
  readonly code: NikErrorCode;
  readonly messageId: string;
}
