// What a backend needs to use dukcapil-facematch safely, with `jose` and Node's crypto:
// mint the caller token the browser sends to the proxy, and verify the receipt the proxy signs.
// Copy this file; server.mjs shows it in an app.

import { SignJWT, jwtVerify, decodeProtectedHeader, errors } from 'jose';
import { createHmac, randomUUID } from 'node:crypto';

/** The `typ` of every receipt. */
export const RECEIPT_TYP = 'dukcapil-receipt+jwt';

/**
 * `nik_hmac`: base64url HMAC-SHA256 of `"dukcapil-facematch:nik:" + the 16 digits`, keyed with
 * PROXY_JWT_SECRET. Binds a token to one NIK without putting the NIK (or a hash anyone can
 * reverse from a masked NIK) in it.
 */
export function nikHmac(secret, nik) {
  return createHmac('sha256', secret).update(`dukcapil-facematch:nik:${nik}`).digest('base64url');
}

/** The 16 digits of a NIK typed with spaces, dots or hyphens, or null. */
export function normalizeNik(input) {
  if (typeof input !== 'string') return null;
  const digits = input.trim().replace(/[\s.-]/g, '');
  return /^\d{16}$/.test(digits) ? digits : null;
}

/**
 * Mints the short-lived caller token for one verification: HS256 under PROXY_JWT_SECRET, for
 * the proxy's TOKEN_AUDIENCE, bound to one transaction and one NIK. `issuer` (this backend)
 * comes back as the receipt's `aud`, `subject` (your user) as its `sub`.
 * Returns { token, jti }.
 */
export async function mintCallerToken({ secret, audience = 'dukcapil-facematch', issuer, subject, txn, nik, ttlSeconds = 300 }) {
  const jti = randomUUID();
  const token = await new SignJWT({ txn, nik_hmac: nikHmac(secret, nik) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(subject)
    .setAudience(audience)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
  return { token, jti };
}

/** The scope of a server token for the proxy's results endpoint. */
export const READ_SCOPE = 'transactions:read';

/**
 * Mints a short-lived server token for the proxy's results endpoint
 * (`GET /v1/transactions/{transactionId}`): HS256 under PROXY_JWT_SECRET with
 * `scope: "transactions:read"`. It reads the transactions whose caller tokens had this
 * `subject`. Never give it to a browser.
 */
export async function mintReadToken({ secret, audience = 'dukcapil-facematch', issuer, subject, ttlSeconds = 60 }) {
  return new SignJWT({ scope: READ_SCOPE })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(subject)
    .setAudience(audience)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}

/**
 * Asks the proxy what became of a transaction: `{ state, receipt? }` (`state` is `new`,
 * `in_flight` or `done`; a done one has its receipt), or null when the proxy knows none (never
 * sent, or past LEDGER_TTL_SECONDS). Throws on any other answer.
 */
export async function fetchTransaction({ proxyUrl, token, transactionId, fetchImpl = fetch }) {
  const url = new URL(`/v1/transactions/${encodeURIComponent(transactionId)}`, proxyUrl);
  const res = await fetchImpl(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 404) return null;
  const body = await res.json().catch(() => null);
  if (res.status !== 200 || typeof body?.state !== 'string') {
    throw new Error(`results endpoint answered ${res.status} ${body?.error?.code ?? ''}`.trim());
  }
  return body;
}

/** Why a receipt was refused: `code` is one of the strings below. */
export class ReceiptError extends Error {
  constructor(code, message, cause) {
    super(message, { cause });
    this.name = 'ReceiptError';
    this.code = code;
  }
}

const JOSE_CODES = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown_key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'unknown_key',
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
  ERR_JOSE_NOT_SUPPORTED: 'algorithm',
};
const CLAIM_CODES = { exp: 'expired', iss: 'issuer', aud: 'audience', sub: 'subject', typ: 'type', nbf: 'not_yet_valid', iat: 'not_yet_valid' };

/**
 * Verifies a receipt against the proxy's JWKS and this verification's facts, and returns its
 * claims. Throws a ReceiptError unless:
 * - it is an ES256 JWS of type dukcapil-receipt+jwt, signed by a key in `jwks`
 *   (`createRemoteJWKSet(new URL('/.well-known/jwks.json', PROXY_URL))`), unexpired;
 * - `iss` is the proxy (`issuer`), `aud` is this backend (`audience`, the tokens' `iss`),
 *   `sub` is the user, `txn` is this transaction, `nik_hmac` is this NIK's and `token_jti`
 *   is the token that was minted for it;
 * - it is not a sandbox receipt, unless `allowSandbox`.
 * `currentDate` checks it as of another time: a receipt the backend fetched itself from the
 * results endpoint may be older than its lifetime, and is checked as of when it was signed.
 */
export async function verifyReceipt(receipt, { jwks, issuer, audience, subject, txn, nikHmac: expectedNik, tokenJti, allowSandbox = false, currentDate }) {
  // Never let the receipt pick the algorithm: "none", HS256 keyed with the public key and the
  // like are refused here, before any key is looked at (and again by `algorithms` below).
  let header;
  try {
    header = decodeProtectedHeader(receipt);
  } catch (e) {
    throw new ReceiptError('malformed', 'not a compact JWS', e);
  }
  if (header.alg !== 'ES256') throw new ReceiptError('algorithm', `alg ${header.alg} is not ES256`);
  if (header.typ !== RECEIPT_TYP) throw new ReceiptError('type', `typ ${header.typ} is not ${RECEIPT_TYP}`);
  let payload;
  try {
    ({ payload } = await jwtVerify(receipt, jwks, {
      algorithms: ['ES256'],
      typ: RECEIPT_TYP,
      issuer,
      audience,
      subject,
      requiredClaims: ['jti', 'iat', 'exp', 'txn', 'outcome', 'request_id', 'sandbox'],
      clockTolerance: 30,
      ...(currentDate ? { currentDate } : {}),
    }));
  } catch (e) {
    if (e instanceof errors.JWTClaimValidationFailed) {
      throw new ReceiptError(CLAIM_CODES[e.claim] ?? 'malformed', `receipt ${e.claim}: ${e.reason}`, e);
    }
    throw new ReceiptError(JOSE_CODES[e?.code] ?? 'malformed', `receipt refused: ${e?.message ?? e}`, e);
  }
  const expect = (ok, code, what) => {
    if (!ok) throw new ReceiptError(code, `receipt ${what} does not match`);
  };
  expect(payload.txn === txn, 'transaction', 'txn');
  if (expectedNik !== undefined) expect(payload.nik_hmac === expectedNik, 'nik', 'nik_hmac');
  if (tokenJti !== undefined) expect(payload.token_jti === tokenJti, 'token', 'token_jti');
  expect(typeof payload.sandbox === 'boolean', 'malformed', 'sandbox');
  if (payload.sandbox && !allowSandbox) {
    throw new ReceiptError('sandbox', 'a sandbox receipt: the outcome was simulated, not verified');
  }
  const verdict = payload.outcome === 'match' || payload.outcome === 'no_match';
  if (verdict) {
    expect(payload.match === (payload.outcome === 'match') && typeof payload.score === 'number', 'malformed', 'verdict');
  } else {
    expect(typeof payload.outcome === 'string' && payload.match === undefined, 'malformed', 'outcome');
  }
  return payload;
}
