// Public API of the npm package `dukcapil-facematch`. Hand-written, except the error-code
// unions, which `cargo xtask codegen` makes from the Rust catalogues. `cargo xtask test`
// type-checks it (tsc --strict) and fails when a generated part has drifted.

/** Loads the wasm module. Async APIs call it themselves; await it before `parseNik`/`isValidNik`. */
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

/** Throws a `NikError`; throws a `TypeError` for a non-string. Needs `await init()` first. */
export function parseNik(input: string): NikInfo;
/** Needs `await init()` first. */
export function isValidNik(input: string): boolean;

export type SelfieSource =
  | ImageData
  | HTMLVideoElement
  | HTMLCanvasElement
  | HTMLImageElement
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
  minBrightness?: number;
  /** `SELFIE_TOO_DARK` above this share of nearly black centre pixels, 0–1 (default 0.5). */
  maxDarkClipped?: number;
  /** `SELFIE_TOO_BRIGHT` above this mean luma of the centre, 0–255 (default 210). */
  maxBrightness?: number;
  /** `SELFIE_TOO_BRIGHT` above this share of nearly white centre pixels, 0–1 (default 0.35). */
  maxBrightClipped?: number;
  /** `SELFIE_BLURRY` below this sharpness, 0–1 (default 0.5). */
  minSharpness?: number;
  /**
   * Where the browser has the Shape Detection API's `FaceDetector`, refuse photos with no face
   * (`SELFIE_NO_FACE`) or several (`SELFIE_MULTIPLE_FACES`). Never required (default true).
   */
  faces?: boolean;
}

export interface PrepareSelfieOptions {
  /** Longest side of the output, 64–8192 (default 1280). Never upscales. */
  maxDimension?: number;
  /** Hard limit on the output's size in bytes, 10,000–2,000,000 (default 2,000,000). */
  maxBytes?: number;
  /** Preferred JPEG quality in (0, 1] (default 0.85); lowered (to 0.40 at least) to fit. */
  quality?: number;
  /** Largest accepted width × height of the input (default 50,000,000). */
  maxPixels?: number;
  /** The quality gate: on by default; `false` turns it off; an object sets thresholds. */
  checks?: boolean | SelfieChecks;
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
  token?: string | (() => string | Promise<string>);
  /** Per attempt. Default 30,000. */
  timeoutMs?: number;
  /**
   * Retries of one `verify` with the same `transactionId` (0 to 10, default 2): after a network
   * error, a timeout, `TRANSACTION_IN_PROGRESS`, or a 429/503 with `Retry-After` (up to 30 s).
   * The proxy's ledger answers a finished transaction from its record, so a retry never causes
   * a second billed call. Without a `transactionId`, nothing is retried.
   */
  retries?: number;
  /** The first retry's backoff, doubled each time (at most 8 s), with full jitter. Default 500. */
  retryDelayMs?: number;
  /**
   * Accept answers of the proxy's sandbox (`"sandbox": true`, simulated). Default `false`:
   * they are refused with `SANDBOX_NOT_ALLOWED`, so a sandbox can never pass for production.
   */
  allowSandbox?: boolean;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
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
  transactionId?: string;
  signal?: AbortSignal;
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
export type NikErrorCode =
  | 'NIK_EMPTY'
  | 'NIK_LENGTH'
  | 'NIK_NOT_DIGITS'
  | 'NIK_PROVINCE'
  | 'NIK_REGENCY'
  | 'NIK_DISTRICT'
  | 'NIK_BIRTH_DATE'
  | 'NIK_SERIAL';

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

/** `message` is English; `messageId` is Bahasa Indonesia. Both are fit for end users. */
export class NikError extends Error {
  readonly name: 'NikError';
  readonly code: NikErrorCode;
  readonly messageId: string;
}

export class SelfieError extends Error {
  readonly name: 'SelfieError';
  readonly code: SelfieErrorCode;
  readonly messageId: string;
  /** The gate's measures, for the codes of the quality gate (`SELFIE_TOO_DARK` …); else `null`. */
  readonly metrics: SelfieMetrics | null;
}

export class FaceMatchError extends Error {
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
}
