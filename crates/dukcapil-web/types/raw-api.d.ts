/* tslint:disable */
/* eslint-disable */

import type { NikInfo, ParseNikOptions, VerifyResult, PreparedSelfie, PrepareSelfieOptions, SelfieSource, FaceMatchError } from "./index.js";



/**
 * Checks what `verify` is about to send, exactly as the proxy will. Returns
 * `{ id, image }` (NIK normalized, image as raw base64) or throws a `FaceMatchError`.
 */
export function checkVerifyRequest(nik: string, image: string, transaction_id: string | undefined): { id: string; image: string };

/**
 * A `FaceMatchError` for a failure found in JS (`NETWORK`, `TIMEOUT`, `ABORTED`,
 * `UNAUTHORIZED` when the token callback fails), with catalogue messages, the URL it was
 * about and, where JS knows more, the reason.
 */
export function faceMatchError(code: string, cause: unknown, url?: string | null, reason?: string | null): FaceMatchError;

/**
 * Whether `input` is a valid NIK today.
 */
export function isValidNik(input: string): boolean;

/**
 * Parses a NIK typed by a person; throws a `NikError` when it is not valid. With
 * `{ strictRegions: true }`, a regency code not in the bundled tables is refused too.
 */
export function parseNik(input: string, options: ParseNikOptions | undefined): NikInfo;

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
export function readVerifyResponse(status: number, body: Uint8Array | number[], transaction_id: string | null | undefined, allow_sandbox: boolean, too_large: boolean, url: string): VerifyResult;

/**
 * How long `verify` waits before retry number `attempt` (from 0) after a failure with `code`
 * and `status` (0: no answer came) whose `Retry-After` was `retry_after_ms` (NaN: none), or
 * `undefined` for no retry. `names_transaction`: the request has a `transactionId`. `jitter`
 * is a random number in [0, 1). The rule is `dukcapil_core::contract::retry`.
 */
export function retryDelay(code: string, status: number, retry_after_ms: number, attempt: number, retries: number, base_ms: number, names_transaction: boolean, jitter: number): number | undefined;

/**
 * Checks the `endpoint` a `FaceMatchClient` was given (`https:`, or `http:` on loopback; no
 * credentials, query or fragment: the rule the proxy applies to its own upstream URLs, plus
 * the last two) and returns `joined`, the verify URL the client made from it with the URL
 * API; else throws a `TypeError` saying what is wrong.
 */
export function verifyUrl(endpoint: string, joined: string): string;
