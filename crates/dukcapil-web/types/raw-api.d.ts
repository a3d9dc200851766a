/* tslint:disable */
/* eslint-disable */

import type { NikInfo, VerifyResult, PreparedSelfie, PrepareSelfieOptions, SelfieSource, FaceMatchError } from "./index.js";



/**
 * Checks what `verify` is about to send, exactly as the proxy will. Returns
 * `{ id, image }` (NIK normalized, image as raw base64) or throws a `FaceMatchError`.
 */
export function checkVerifyRequest(nik: string, image: string, transaction_id: string | undefined): { id: string; image: string };

/**
 * A `FaceMatchError` for a failure found in JS (`NETWORK`, `TIMEOUT`, `ABORTED`,
 * `UNAUTHORIZED` when the token callback fails), with catalogue messages.
 */
export function faceMatchError(code: string, cause: unknown): FaceMatchError;

/**
 * Whether `input` is a valid NIK today.
 */
export function isValidNik(input: string): boolean;

/**
 * Parses a NIK typed by a person; throws a `NikError` when it is not valid.
 */
export function parseNik(input: string): NikInfo;

/**
 * Prepares a selfie for upload; rejects with a `SelfieError`.
 */
export function prepareSelfie(source: SelfieSource, options: PrepareSelfieOptions | undefined): Promise<PreparedSelfie>;

/**
 * Reads the proxy's answer to a request sent with `transaction_id`:
 * `{ match, score, message, requestId, transactionId, receipt, sandbox }`, or throws a
 * `FaceMatchError` (with the receipt of a definitive refusal). `too_large`: the body was
 * over the cap and not read.
 */
export function readVerifyResponse(status: number, body: Uint8Array | number[], transaction_id: string | null | undefined, allow_sandbox: boolean, too_large: boolean): VerifyResult;

/**
 * The URL `verify` posts to: `endpoint` (the proxy's base URL, or its full verify URL) if it
 * is `https:`, or `http:` on loopback only; else throws a `TypeError`. The rule is the one
 * the proxy applies to its own upstream URLs.
 */
export function verifyUrl(endpoint: string): string;
