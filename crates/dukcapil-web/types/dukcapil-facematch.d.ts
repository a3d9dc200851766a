// Public API of the npm package `dukcapil-facematch`. Hand-written, except the error-code
// unions, which `cargo xtask codegen` makes from the Rust catalogues. `cargo xtask test`
// type-checks it (tsc --strict) and fails when a generated part has drifted. The NIK types
// live in nik.d.ts (the `dukcapil-facematch/nik` entry) and are re-exported here.

import type { NikInfo, NikErrorCode, ParseNikOptions } from './nik.js';
export {
  NikError,
  type NikErrorCode,
  type NikInfo,
  type ParseNikOptions,
  type Region,
  type RegencyRegion,
} from './nik.js';

/** Whether this browser has WebAssembly SIMD, which the module needs; `init()` rejects without it. */
export function hasWasmSimd(): boolean;

/** Loads the wasm module. Async APIs call it themselves; await it before `parseNik`/`isValidNik`. */
export function init(wasmSource?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;

/**
 * Throws a `NikError`; throws a `TypeError` for a non-string. Needs `await init()` first (or
 * rethrows the error of a failed `init()`).
 */
export function parseNik(input: string, options?: ParseNikOptions): NikInfo;
/** Needs `await init()` first. */
export function isValidNik(input: string): boolean;

/**
 * A DOM class's instance type where the program has the DOM lib, else `never`: the
 * declarations compile in a worker-only program (`lib: ["webworker"]`) too.
 */
type DomInstance<K extends string> = typeof globalThis extends Record<K, { prototype: infer T }> ? T : never;

export type SelfieSource =
  | ImageData
  | DomInstance<'HTMLVideoElement'>
  | DomInstance<'HTMLCanvasElement'>
  | DomInstance<'HTMLImageElement'>
  | OffscreenCanvas
  | ImageBitmap
  | Blob
  | ArrayBuffer
  | Uint8Array;

/**
 * Thresholds of the selfie quality gate; each one left out keeps its calibrated default.
 * Brightness and clipping are read from the centre 60 % × 60 % of the photo.
 */
export interface SelfieChecks {
  /** `SELFIE_TOO_DARK` below this mean luma of the centre, 0–255 (default 60). */
  minBrightness?: number | undefined;
  /** `SELFIE_TOO_DARK` above this share of nearly black centre pixels, 0–1 (default 0.5). */
  maxDarkClipped?: number | undefined;
  /** `SELFIE_TOO_BRIGHT` above this mean luma of the centre, 0–255 (default 210). */
  maxBrightness?: number | undefined;
  /** `SELFIE_TOO_BRIGHT` above this share of nearly white centre pixels, 0–1 (default 0.35). */
  maxBrightClipped?: number | undefined;
  /** `SELFIE_BLURRY` below this sharpness, 0–1 (default 0.5). */
  minSharpness?: number | undefined;
  /**
   * Where the browser has the Shape Detection API's `FaceDetector`, refuse photos with no face
   * (`SELFIE_NO_FACE`) or several (`SELFIE_MULTIPLE_FACES`). Never required (default true).
   */
  faces?: boolean | undefined;
}

export interface PrepareSelfieOptions {
  /** Longest side of the output, 64–8192 (default 1280). Never upscales. */
  maxDimension?: number | undefined;
  /** Hard limit on the output's size in bytes, 10,000–2,000,000 (default 2,000,000). */
  maxBytes?: number | undefined;
  /** Preferred JPEG quality in (0, 1] (default 0.85); lowered (to 0.40 at least) to fit. */
  quality?: number | undefined;
  /** Largest accepted width × height of the input (default 50,000,000). */
  maxPixels?: number | undefined;
  /** The quality gate: on by default; `false` turns it off; an object sets thresholds. */
  checks?: boolean | SelfieChecks | undefined;
}

/** What the quality gate measured: enough for a form to show live guidance. */
export interface SelfieMetrics {
  /** Mean luma of the photo's centre, 0 (black) to 255 (white). */
  brightness: number;
  /** Share of nearly black centre pixels, 0–1. */
  darkClipped: number;
  /** Share of nearly white centre pixels, 0–1. */
  brightClipped: number;
  /** 0 (blurred) to 1 (sharp). */
  sharpness: number;
  /** Faces the browser's `FaceDetector` found; `null` where there is none (or the check is off). */
  faces: number | null;
}

export interface PreparedSelfie {
  /** Raw standard base64 (no `data:` prefix), as the API expects. */
  base64: string;
  /** Byte length of the file. */
  bytes: number;
  width: number;
  height: number;
  /** JPEG quality used, in (0, 1]; 0 for a passed-through PDF. */
  quality: number;
  mimeType: 'image/jpeg' | 'application/pdf';
  /** The quality gate's measures (also with `checks: false`); `null` for a PDF. */
  metrics: SelfieMetrics | null;
}

/** Rejects with a `SelfieError`. */
export function prepareSelfie(source: SelfieSource, options?: PrepareSelfieOptions): Promise<PreparedSelfie>;

export interface FaceMatchClientOptions {
  /**
   * Base URL of the proxy; `/v1/dukcapilWithFacematch` is appended (a full endpoint URL also
   * works). Must be `https:`; `http:` only on loopback (`localhost`, `127.0.0.0/8`, `[::1]`),
   * else `verify` rejects with a `TypeError`.
   */
  endpoint: string;
  /**
   * The caller token your backend minted for this NIK and transaction, sent as
   * `Authorization: Bearer <token>`; a function is called before every request.
   */
  token?: string | (() => string | Promise<string>) | undefined;
  /** Per attempt. Default 30,000. */
  timeoutMs?: number | undefined;
  /**
   * Retries of one `verify` with the same `transactionId` (0 to 10, default 2): after a network
   * error, a timeout, `TRANSACTION_IN_PROGRESS`, or a 429/503 with `Retry-After` (up to 30 s).
   * The proxy's ledger answers a finished transaction from its record, so a retry never causes
   * a second billed call. Without a `transactionId`, nothing is retried.
   */
  retries?: number | undefined;
  /** The first retry's backoff, doubled each time (at most 8 s), with full jitter. Default 500. */
  retryDelayMs?: number | undefined;
  /**
   * Accept answers of the proxy's sandbox (`"sandbox": true`, simulated). Default `false`:
   * they are refused with `SANDBOX_NOT_ALLOWED`, so a sandbox can never pass for production.
   */
  allowSandbox?: boolean | undefined;
  fetch?: ((input: string, init: RequestInit) => Promise<Response>) | undefined;
}

export interface VerifyRequest {
  /** The NIK as text (never a number: 16 digits exceed a JS number's precision). */
  nik: string;
  /** A prepared selfie, or base64 (a `data:` URL is accepted) of a JPEG, PNG or PDF ≤ 2,000,000 bytes. */
  selfie: PreparedSelfie | string;
  /**
   * 1–128 of `[A-Za-z0-9._:-]`: the transaction your backend bound the token to (its `txn`),
   * which the proxy requires. The answer must echo it, else `verify` rejects with
   * `UPSTREAM_ERROR` (not an answer to this request).
   */
  transactionId?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface VerifyResult {
  match: boolean;
  /** As the service reports it, 0–100. */
  score: number;
  message: string | null;
  /** The proxy's `x-request-id`. */
  requestId: string;
  transactionId: string;
  /**
   * The proxy's signed receipt (a compact JWS, ES256). The page cannot be trusted with the
   * verdict: send this to your backend, which verifies it against the proxy's
   * `/.well-known/jwks.json` and only then records the outcome.
   */
  receipt: string;
  /** A simulated answer of the proxy's sandbox (only with `allowSandbox: true`). */
  sandbox: boolean;
}

export class FaceMatchClient {
  constructor(options: FaceMatchClientOptions);
  /** Rejects with a `FaceMatchError`. */
  verify(request: VerifyRequest): Promise<VerifyResult>;
}

// error-code-unions:start (cargo xtask codegen)
export type SelfieErrorCode =
  | 'SELFIE_EMPTY'
  | 'SELFIE_TRUNCATED'
  | 'SELFIE_CORRUPT'
  | 'SELFIE_UNSUPPORTED_FORMAT'
  | 'SELFIE_TOO_MANY_PIXELS'
  | 'SELFIE_CANNOT_FIT'
  | 'SELFIE_PDF_TOO_LARGE'
  | 'SELFIE_INVALID_OPTIONS'
  | 'SELFIE_INVALID_FRAME'
  | 'SELFIE_BLOCKED'
  | 'SELFIE_CROSS_ORIGIN'
  | 'SELFIE_INTERNAL'
  | 'SELFIE_NO_FRAME'
  | 'SELFIE_SOURCE_TYPE'
  | 'SELFIE_TOO_DARK'
  | 'SELFIE_TOO_BRIGHT'
  | 'SELFIE_BLURRY'
  | 'SELFIE_NO_FACE'
  | 'SELFIE_MULTIPLE_FACES';

/** Codes of the core catalogue that `verify` can reject with. */
export type FaceMatchErrorCode =
  | NikErrorCode
  | 'IMAGE_MISSING'
  | 'IMAGE_BASE64'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_TYPE'
  | 'REQUEST_INVALID'
  | 'TRANSACTION_ID_INVALID'
  | 'TRANSACTION_IN_PROGRESS'
  | 'TRANSACTION_ATTEMPTS_EXHAUSTED'
  | 'TRANSACTION_FORBIDDEN'
  | 'TRANSACTION_NOT_FOUND'
  | 'LEDGER_UNAVAILABLE'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'ORIGIN_NOT_ALLOWED'
  | 'UNAUTHORIZED'
  | 'RATE_LIMITED'
  | 'NIK_INVALID'
  | 'FACE_NOT_DETECTED'
  | 'MULTIPLE_FACES'
  | 'PROXY_UPSTREAM_CREDENTIALS'
  | 'PROXY_MISCONFIGURED'
  | 'UPSTREAM_RATE_LIMITED'
  | 'UPSTREAM_BUSY'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_REJECTED'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'SANDBOX_NOT_ALLOWED'
  | 'BAD_REQUEST';
// error-code-unions:end

/**
 * `message` is English; `messageId` is Bahasa Indonesia. Both are fit for end users. The
 * error classes are for `instanceof`: only the module creates them.
 */
export class SelfieError extends Error {
  private constructor();
  readonly name: 'SelfieError';
  readonly code: SelfieErrorCode;
  readonly messageId: string;
  /** The gate's measures, for the codes of the quality gate (`SELFIE_TOO_DARK` …); else `null`. */
  readonly metrics: SelfieMetrics | null;
}

export class FaceMatchError extends Error {
  private constructor();
  readonly name: 'FaceMatchError';
  readonly code: FaceMatchErrorCode;
  readonly messageId: string;
  /** HTTP status of the proxy's answer; `null` when none came (checks, network, timeout). */
  readonly status: number | null;
  readonly requestId: string | null;
  readonly transactionId: string | null;
  /** Whether the same request may succeed later. */
  readonly retryable: boolean;
  /**
   * On a definitive refusal (`NIK_INVALID`, `FACE_NOT_DETECTED`, `MULTIPLE_FACES`, the
   * upstream's `IMAGE_*`, `UPSTREAM_REJECTED`): the proxy's signed receipt for it, to send to
   * your backend like a verdict's. `null` otherwise.
   */
  readonly receipt: string | null;
  /** The URL `verify` posted to; `null` when nothing was sent (the checks refused first). */
  readonly url: string | null;
  /**
   * For developers, in English: why an answer was not read as the proxy's (not JSON, another
   * shape, a score outside 0–100, another `transactionId` …), or why a request got no answer
   * (unreachable, or CORS). `null` for the proxy's own refusals.
   */
  readonly reason: string | null;
  /**
   * The start (160 characters at most) of an answer that was not the proxy's, such as a
   * gateway's page or a wrong path's 404, with digit runs and base64 runs removed (no NIK,
   * selfie or token). `null` otherwise.
   */
  readonly bodyExcerpt: string | null;
}
