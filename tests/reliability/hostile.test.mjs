// Hostile inputs against the running proxy (the built Worker in workerd, via Miniflare).
// One table, run as one suite: every row expects an exact status and error code, and the
// HyperVerge double must see ZERO requests for it. tests/proxy/validation.test.mjs and
// auth.test.mjs hold the everyday refusals; this table is the adversarial set (some
// overlap on purpose, so the table stands on its own). Inputs the proxy forwards by design
// (a JPEG signature followed by anything) are tested separately at the end.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { generateKeyPair, exportSPKI, SignJWT } from 'jose';
import {
  startProxy, startDouble, assertError, multipart, rawRequest, mint, noteNik, noteImage,
  noteToken, recordAnswer, rawUpload, assertNoLeaksStrict, sha256hex, nikHmac, jpegBytes,
  APP_ID, APP_KEY, NIK, OTHER_NIK, JWT_SECRET, JPEG_B64, AUDIENCE, TXN,
} from './lib.mjs';

let double, proxy, rsaPublicPem, receipt;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({}, { double });
  // A real receipt, to try as a token.
  receipt = (await proxy.verify({})).json.receipt;
  double.reset();
  const { publicKey } = await generateKeyPair('RS256', { extractable: true });
  rsaPublicPem = await exportSPKI(publicKey);
});
after(async () => {
  await proxy?.dispose();
  await double?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const json = (o) => JSON.stringify(o);
const b64 = (buf) => Buffer.from(buf).toString('base64');
const b64url = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const body = (id, image = JPEG_B64) => json({ id, image });

/** A compact JWS with any header, HMAC-SHA256 under any secret (or a fixed signature). */
function forge(header, claims, secret = JWT_SECRET, signature) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  const sig = signature ?? createHmac('sha256', secret).update(input).digest('base64url');
  return noteToken(`${input}.${sig}`);
}
const goodClaims = (extra = {}) => ({
  sub: 'customer-42', aud: AUDIENCE, jti: `jti-${Math.random()}`, txn: TXN, iat: now(), exp: now() + 300, nik_hmac: nikHmac(NIK), ...extra,
});
/** The good claims without `name`. */
const without = (name) => {
  const c = goodClaims();
  delete c[name];
  return c;
};

// Files that are not images, or only pretend to be.
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>';
const HTML = '<!doctype html><html><script>alert(document.cookie)</script></html>';
const ZIP = Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'), Buffer.alloc(60, 1)]);
const EXE = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.alloc(56, 0), Buffer.from('PE\0\0', 'latin1')]);
const ELF = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(57, 0)]);
const WEBP = Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'), Buffer.alloc(40, 3)]);
const HEIC = Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypheic\x00\x00\x00\x00', 'latin1'), Buffer.alloc(40, 2)]);
const GIFAR = Buffer.concat([Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), Buffer.alloc(20), ZIP]);
// Polyglots whose first bytes are not a JPEG, PNG or PDF signature, with one inside.
const ZIP_THEN_JPEG = Buffer.concat([ZIP, jpegBytes(64)]);
const HTML_THEN_JPEG = Buffer.concat([Buffer.from(HTML), jpegBytes(64)]);
const BOM_JPEG = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), jpegBytes(64)]);
const PDF_NO_DASH = Buffer.from('%PDF1.7 not quite a PDF header..........');
const JPEG_SOI_ONLY = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(40, 0x41)]);
const JPEG_B64_URLSAFE = jpegBytes(300).toString('base64').replace(/\//g, '_').replace(/\+/g, '-');
const MIME_WRAPPED = jpegBytes(300).toString('base64').replace(/.{76}/g, '$&\r\n');
for (const f of [ZIP, EXE, ELF, WEBP, HEIC, GIFAR, ZIP_THEN_JPEG, HTML_THEN_JPEG, BOM_JPEG]) noteImage(b64(f));

const TEN_MB = 10 * 1024 * 1024;
const DEEP = 100_000;

// Raw HTTP/1.1 to the proxy's loopback listener, for what fetch() refuses to send. The token
// is for `txn`, and the transactionId header is TXN unless `lines` carry their own.
async function raw(lines, bodyChunks = [], opts, txn = TXN) {
  const token = await mint({ txn });
  const ownTxn = lines.some((l) => /^transactionId:/i.test(l));
  const head = [
    lines[0],
    'Host: proxy.test',
    `Authorization: Bearer ${token}`,
    ...(ownTxn ? [] : [`transactionId: ${TXN}`]),
    'cf-connecting-ip: 198.51.100.200',
    ...lines.slice(1),
    '',
    '',
  ].join('\r\n');
  const res = await rawRequest(proxy.url, Buffer.from(head, 'latin1'), bodyChunks, opts);
  recordAnswer(res.status, {}, res.raw ?? '');
  return res;
}
const rawPost = (extra, payload, txn) => raw(
  ['POST /v1/dukcapilWithFacematch HTTP/1.1', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`, ...extra],
  [payload],
  undefined,
  txn,
);

/** A chunked upload of `total` bytes with no content-length. */
function chunked(total, fill = 0x41) {
  const chunk = Buffer.alloc(256 * 1024, fill);
  const out = [];
  for (let sent = 0; sent < total; sent += chunk.length) out.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
  out.push('0\r\n\r\n');
  return out;
}

const v = (o) => () => proxy.verify(o);
const f = (path, init = {}) => async () => {
  const token = await mint();
  return proxy.fetch(path, {
    method: 'POST',
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, transactionId: TXN, ...(init.headers ?? {}) },
    body: init.method === 'GET' || init.method === 'HEAD' ? undefined : ('body' in init ? init.body : body(NIK)),
  });
};
const mp = (fields) => async () => {
  const { contentType, body: b } = await multipart(fields);
  return proxy.verify({ contentType, body: b });
};
const jpegBlob = () => new Blob([jpegBytes(200)], { type: 'image/jpeg' });

// [name, request, status, code]
const cases = [
  // ---- malformed and deeply nested JSON --------------------------------------------
  ['JSON nested 100,000 arrays deep', v({ body: '['.repeat(DEEP) + ']'.repeat(DEEP) }), 400, 'REQUEST_INVALID'],
  ['JSON nested 100,000 objects deep in an extra field', v({ body: `{"id":"${NIK}","x":${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}}` }), 400, 'REQUEST_INVALID'],
  ['JSON id nested 10,000 arrays deep', v({ body: `{"id":${'['.repeat(10000)}${']'.repeat(10000)},"image":"${JPEG_B64}"}` }), 400, 'REQUEST_INVALID'],
  ['JSON unclosed 100,000 arrays', v({ body: '['.repeat(DEEP) }), 400, 'REQUEST_INVALID'],
  ['JSON truncated mid-string', v({ body: `{"id":"3273` }), 400, 'REQUEST_INVALID'],
  ['JSON with a UTF-8 BOM', v({ body: `\ufeff${body(NIK)}` }), 400, 'REQUEST_INVALID'],
  ['JSON with single quotes', v({ body: `{'id':'${NIK}','image':'${JPEG_B64}'}` }), 400, 'REQUEST_INVALID'],
  ['JSON with a trailing comma', v({ body: `{"id":"${NIK}","image":"${JPEG_B64}",}` }), 400, 'REQUEST_INVALID'],
  ['JSON with a comment', v({ body: `{"id":"${NIK}",/* x */"image":"${JPEG_B64}"}` }), 400, 'REQUEST_INVALID'],
  ['JSON null', v({ body: 'null' }), 400, 'REQUEST_INVALID'],
  ['JSON top-level string', v({ body: json(body(NIK)) }), 400, 'REQUEST_INVALID'],
  ['JSON two objects back to back', v({ body: body(NIK) + body(NIK) }), 400, 'REQUEST_INVALID'],
  ['invalid UTF-8 in the body', v({ contentType: 'application/json', body: Buffer.concat([Buffer.from(`{"id":"${NIK}","image":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]) }), 400, 'REQUEST_INVALID'],
  ['UTF-16 body', v({ body: Buffer.from(body(NIK), 'utf16le') }), 400, 'REQUEST_INVALID'],
  ['lone surrogate escape in id', v({ body: `{"id":"\\ud800${NIK}","image":"${JPEG_B64}"}` }), 400, 'REQUEST_INVALID'],
  // ---- duplicate keys, wrong types, extra fields --------------------------------------
  ['duplicate image key', v({ body: `{"id":"${NIK}","image":"${JPEG_B64}","image":"${JPEG_B64}"}` }), 400, 'REQUEST_INVALID'],
  ['duplicate id, second one hostile', v({ body: `{"id":"${NIK}","image":"${JPEG_B64}","id":"${OTHER_NIK}"}` }), 400, 'REQUEST_INVALID'],
  ['id written as "ID"', v({ body: `{"ID":"${NIK}","image":"${JPEG_B64}"}` }), 400, 'REQUEST_INVALID'],
  ['extra field __proto__', v({ body: `{"id":"${NIK}","image":"${JPEG_B64}","__proto__":{"admin":true}}` }), 400, 'REQUEST_INVALID'],
  ['extra field appKey', v({ body: json({ id: NIK, image: JPEG_B64, appKey: 'x' }) }), 400, 'REQUEST_INVALID'],
  ['id as an array', v({ body: json({ id: [NIK], image: JPEG_B64 }) }), 400, 'REQUEST_INVALID'],
  ['id as an object', v({ body: json({ id: { value: NIK }, image: JPEG_B64 }) }), 400, 'REQUEST_INVALID'],
  ['id as true', v({ body: json({ id: true, image: JPEG_B64 }) }), 400, 'REQUEST_INVALID'],
  ['id as 1e16', v({ body: `{"id":1e16,"image":"${JPEG_B64}"}` }), 400, 'REQUEST_INVALID'],
  ['image as a number', v({ body: json({ id: NIK, image: 12345 }) }), 400, 'REQUEST_INVALID'],
  ['image as a byte array', v({ body: json({ id: NIK, image: [...jpegBytes(16)] }) }), 400, 'REQUEST_INVALID'],
  ['image as an object', v({ body: json({ id: NIK, image: { data: JPEG_B64 } }) }), 400, 'REQUEST_INVALID'],
  // ---- body size and framing ----------------------------------------------------------
  ['10 MB body with its content-length', v({ body: json({ id: NIK, image: 'A'.repeat(TEN_MB) }) }), 413, 'PAYLOAD_TOO_LARGE'],
  ['10 MB chunked body, no content-length', async () => rawUpload(proxy.url, `POST /v1/dukcapilWithFacematch HTTP/1.1\r\nHost: proxy.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer ${await mint()}\r\ntransactionId: ${TXN}\r\n\r\n`, chunked(TEN_MB), { paceMs: 2 }), 413, 'PAYLOAD_TOO_LARGE'],
  ['10 MB multipart body', mp([['id', NIK], ['image', new Blob([jpegBytes(TEN_MB)])]]), 413, 'PAYLOAD_TOO_LARGE'],
  ['content-length beyond 2^64', () => raw(['POST /v1/dukcapilWithFacematch HTTP/1.1', 'Content-Type: application/json', 'Content-Length: 99999999999999999999'], ['{}'], { endAfterMs: 1500 }), 400, 'REQUEST_INVALID'],
  ['empty body, content-length 0', v({ body: '' }), 400, 'REQUEST_INVALID'],
  ['POST with no body at all', f('/v1/dukcapilWithFacematch', { body: null }), 400, 'REQUEST_INVALID'],
  // ---- base64 and what it decodes to -------------------------------------------------
  ['base64 with invalid characters', v({ image: '/9j/4AAQ!!!!' }), 400, 'IMAGE_BASE64'],
  ['URL-safe base64 of a JPEG', v({ image: JPEG_B64_URLSAFE }), 400, 'IMAGE_BASE64'],
  ['MIME base64 (CRLF every 76 characters)', v({ image: MIME_WRAPPED }), 400, 'IMAGE_BASE64'],
  ['base64 with one space inside', v({ image: `${JPEG_B64.slice(0, 40)} ${JPEG_B64.slice(40)}` }), 400, 'IMAGE_BASE64'],
  ['base64 with a tab inside', v({ image: `${JPEG_B64.slice(0, 40)}\t${JPEG_B64.slice(40)}` }), 400, 'IMAGE_BASE64'],
  ['base64 without its padding', v({ image: b64(jpegBytes(301)).replace(/=+$/, '') }), 400, 'IMAGE_BASE64'],
  ['base64 with extra padding', v({ image: `${b64(jpegBytes(301))}=` }), 400, 'IMAGE_BASE64'],
  ['base64 with non-zero trailing bits', v({ image: '/9j/4B==' }), 400, 'IMAGE_BASE64'],
  ['data: URL with no comma', v({ image: `data:image/jpeg;base64${JPEG_B64}` }), 400, 'IMAGE_BASE64'],
  ['data: URL, not base64', v({ image: `data:image/jpeg,${JPEG_B64}` }), 400, 'IMAGE_BASE64'],
  ['data: URL declaring text/html', v({ image: `data:text/html;base64,${JPEG_B64}` }), 415, 'IMAGE_TYPE'],
  ['base64 of an SVG with script', v({ image: b64(SVG) }), 415, 'IMAGE_TYPE'],
  ['base64 of an HTML page', v({ image: b64(HTML) }), 415, 'IMAGE_TYPE'],
  ['base64 of a ZIP', v({ image: b64(ZIP) }), 415, 'IMAGE_TYPE'],
  ['base64 of a Windows EXE', v({ image: b64(EXE) }), 415, 'IMAGE_TYPE'],
  ['base64 of an ELF binary', v({ image: b64(ELF) }), 415, 'IMAGE_TYPE'],
  ['base64 of a WebP', v({ image: b64(WEBP) }), 415, 'IMAGE_TYPE'],
  ['base64 of a HEIC', v({ image: b64(HEIC) }), 415, 'IMAGE_TYPE'],
  ['GIFAR polyglot (GIF + ZIP)', v({ image: b64(GIFAR) }), 415, 'IMAGE_TYPE'],
  ['polyglot: ZIP first, JPEG inside', v({ image: b64(ZIP_THEN_JPEG) }), 415, 'IMAGE_TYPE'],
  ['polyglot: HTML first, JPEG inside', v({ image: b64(HTML_THEN_JPEG) }), 415, 'IMAGE_TYPE'],
  ['JPEG behind a UTF-8 BOM', v({ image: b64(BOM_JPEG) }), 415, 'IMAGE_TYPE'],
  ['JPEG SOI without the third signature byte', v({ image: b64(JPEG_SOI_ONLY) }), 415, 'IMAGE_TYPE'],
  ['"%PDF" without the dash', v({ image: b64(PDF_NO_DASH) }), 415, 'IMAGE_TYPE'],
  ['multipart: an EXE named selfie.jpg', mp([['id', NIK], ['image', new Blob([EXE], { type: 'image/jpeg' })]]), 415, 'IMAGE_TYPE'],
  ['multipart: the image as base64 text', mp([['id', NIK], ['image', JPEG_B64]]), 415, 'IMAGE_TYPE'],
  ['multipart: a third part', mp([['id', NIK], ['image', jpegBlob()], ['image2', jpegBlob()]]), 400, 'REQUEST_INVALID'],
  ['multipart: 1,000 parts', mp([['id', NIK], ['image', jpegBlob()], ...Array.from({ length: 998 }, (_, i) => [`f${i}`, 'x'])]), 400, 'REQUEST_INVALID'],
  ['multipart: boundary never appears', async () => proxy.verify({ contentType: 'multipart/form-data; boundary=zzz', body: Buffer.from(`--b\r\nContent-Disposition: form-data; name="id"\r\n\r\n${NIK}\r\n--b--\r\n`) }), 400, 'REQUEST_INVALID'],
  ['multipart: 71-character boundary', async () => proxy.verify({ contentType: `multipart/form-data; boundary=${'b'.repeat(71)}`, body: Buffer.from('x') }), 400, 'REQUEST_INVALID'],
  // ---- NIKs that only look like digits -------------------------------------------------
  ['NIK in full-width digits', v({ nik: '３２７３０１０１０１９０１２３４' }), 400, 'NIK_NOT_DIGITS'],
  ['NIK in Arabic-Indic digits', v({ nik: '٣٢٧٣٠١٠١٠١٩٠١٢٣٤' }), 400, 'NIK_NOT_DIGITS'],
  ['NIK in Devanagari digits', v({ nik: '३२७३०१०१०१९०१२३४' }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with one superscript digit', v({ nik: `${NIK.slice(0, 15)}⁴` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with an RTL mark', v({ nik: `${NIK.slice(0, 8)}\u200f${NIK.slice(8)}` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with an RTL override', v({ nik: `\u202e${NIK}` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with a zero-width space', v({ nik: `${NIK.slice(0, 4)}\u200b${NIK.slice(4)}` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with a NUL inside', v({ nik: `${NIK.slice(0, 6)}\u0000${NIK.slice(6)}` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with a trailing NUL', v({ nik: `${NIK}\u0000` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with a combining mark', v({ nik: `${NIK.slice(0, 3)}\u0301${NIK.slice(3)}` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with a tab separator', v({ nik: `${NIK.slice(0, 6)}\t${NIK.slice(6)}` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK with a leading plus', v({ nik: `+${NIK}` }), 400, 'NIK_NOT_DIGITS'],
  ['NIK of 100,000 digits', v({ nik: '3'.repeat(100_000) }), 400, 'NIK_LENGTH'],
  ['multipart NIK with an RTL mark', mp([['id', `\u200f${NIK}`], ['image', jpegBlob()]]), 400, 'NIK_NOT_DIGITS'],
  ['multipart NIK not UTF-8', mp([['id', new Blob([Buffer.from([0x33, 0xff, 0xfe])])], ['image', jpegBlob()]]), 400, 'REQUEST_INVALID'],
  // ---- headers -------------------------------------------------------------------------
  ['transactionId with an encoded CRLF', v({ txn: 'abc%0d%0aSet-Cookie:%20x=1' }), 400, 'TRANSACTION_ID_INVALID'],
  ['transactionId folded onto a second line (obs-fold)', () => rawPost(['transactionId: abc', ' Set-Cookie: x=1'], body(NIK)), 400, 'TRANSACTION_ID_INVALID'],
  ['transactionId with Latin-1 bytes', v({ txn: 'txn-\u00e9\u00ff' }), 400, 'TRANSACTION_ID_INVALID'],
  ['transactionId of 8 KB', v({ txn: 'a'.repeat(8192) }), 400, 'TRANSACTION_ID_INVALID'],
  ['transactionId of 100 KB', () => rawPost([`transactionId: ${'a'.repeat(100 * 1024)}`], body(NIK)), 400, 'TRANSACTION_ID_INVALID'],
  ['two transactionId headers', () => rawPost(['transactionId: a1', 'transactionId: b2'], body(NIK)), 400, 'TRANSACTION_ID_INVALID'],
  ['Authorization header of 32 KB', v({ token: 'x'.repeat(32 * 1024) }), 401, 'UNAUTHORIZED'],
  ['content-type with 8 KB of parameters', v({ contentType: `application/json; ${Array.from({ length: 1000 }, (_, i) => `p${i}=1; `).join('')}charset=utf-8` }), 400, 'REQUEST_INVALID'],
  ['content-type with one parameter 1600 times', v({ contentType: `application/json; ${'p=1; '.repeat(1600)}charset=utf-8` }), 400, 'REQUEST_INVALID'],
  ['content-type application/json in UTF-16', v({ contentType: 'application/json; charset=utf-16' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['content-type text/html', v({ contentType: 'text/html' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['content-type application/xml', v({ contentType: 'application/xml', body: `<id>${NIK}</id>` }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  // ---- Origin ------------------------------------------------------------------------------
  ['Origin of another site', v({ headers: { origin: 'https://evil.example' } }), 403, 'ORIGIN_NOT_ALLOWED'],
  ['Origin with the allowed one as a prefix', v({ headers: { origin: 'https://kyc.example.co.id.evil.example' } }), 403, 'ORIGIN_NOT_ALLOWED'],
  ['Origin with http instead of https', v({ headers: { origin: 'http://kyc.example.co.id' } }), 403, 'ORIGIN_NOT_ALLOWED'],
  ['Origin in upper case', v({ headers: { origin: 'https://KYC.EXAMPLE.CO.ID' } }), 403, 'ORIGIN_NOT_ALLOWED'],
  ['Origin null (sandboxed iframe, file:)', v({ headers: { origin: 'null' } }), 403, 'ORIGIN_NOT_ALLOWED'],
  ['disallowed Origin on a preflight', f('/v1/dukcapilWithFacematch', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } }), 403, 'ORIGIN_NOT_ALLOWED'],
  // ---- token tampering ---------------------------------------------------------------------
  ['token alg none, empty signature', async () => proxy.verify({ token: forge({ alg: 'none', typ: 'JWT' }, goodClaims(), null, '') }), 401, 'UNAUTHORIZED'],
  ['token alg "None" with a valid HMAC', async () => proxy.verify({ token: forge({ alg: 'None' }, goodClaims()) }), 401, 'UNAUTHORIZED'],
  ['token alg none, two parts only', async () => proxy.verify({ token: noteToken(`${b64url({ alg: 'none' })}.${b64url(goodClaims())}`) }), 401, 'UNAUTHORIZED'],
  ['key confusion: RS256 header, HMAC with the public key', async () => proxy.verify({ token: forge({ alg: 'RS256', typ: 'JWT' }, goodClaims(), rsaPublicPem) }), 401, 'UNAUTHORIZED'],
  ['key confusion: HS256 with the public key as secret', async () => proxy.verify({ token: forge({ alg: 'HS256', typ: 'JWT' }, goodClaims(), rsaPublicPem) }), 401, 'UNAUTHORIZED'],
  ['token with alg "HS256 " (trailing space)', async () => proxy.verify({ token: forge({ alg: 'HS256 ' }, goodClaims()) }), 401, 'UNAUTHORIZED'],
  ['token header with a duplicate alg', async () => proxy.verify({ token: noteToken((() => { const input = `${b64url('{"alg":"HS256","alg":"none"}')}.${b64url(goodClaims())}`; return `${input}.${createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`; })()) }), 401, 'UNAUTHORIZED'],
  ['token with a jwk header (embedded key)', async () => proxy.verify({ token: forge({ alg: 'HS256', jwk: { kty: 'oct', k: b64url('attacker') } }, goodClaims(), 'attacker') }), 401, 'UNAUTHORIZED'],
  ['token signed with an empty secret', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims(), '') }), 401, 'UNAUTHORIZED'],
  ['token expired an hour ago', async () => proxy.verify({ token: await mint({ iatOffset: -3700, ttl: 600 }) }), 401, 'UNAUTHORIZED'],
  ['token living ten years', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ exp: now() + 315_360_000 })) }), 401, 'UNAUTHORIZED'],
  ['token with exp 1e400', async () => proxy.verify({ token: forge({ alg: 'HS256' }, '{"iat":1,"exp":1e400}') }), 401, 'UNAUTHORIZED'],
  ['token bound to another NIK', async () => proxy.verify({ token: await mint({ nik: OTHER_NIK }) }), 401, 'UNAUTHORIZED'],
  ['token bound to an empty nik_hmac', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ nik_hmac: '' })) }), 401, 'UNAUTHORIZED'],
  ['token bound by nik_hmac under another secret', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ nik_hmac: nikHmac(NIK, 'attacker-secret-0123456789abcdef0123') })) }), 401, 'UNAUTHORIZED'],
  ['token bound by the hex SHA-256 of the NIK', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ nik_hmac: sha256hex(NIK) })) }), 401, 'UNAUTHORIZED'],
  ['token bound the 0.1 way (nik_sha256, no nik_hmac)', async () => proxy.verify({ token: forge({ alg: 'HS256' }, { ...without('nik_hmac'), nik_sha256: sha256hex(NIK) }) }), 401, 'UNAUTHORIZED'],
  ['token bound to no NIK at all', async () => proxy.verify({ token: forge({ alg: 'HS256' }, without('nik_hmac')) }), 401, 'UNAUTHORIZED'],
  ['token without aud', async () => proxy.verify({ token: forge({ alg: 'HS256' }, without('aud')) }), 401, 'UNAUTHORIZED'],
  ['token for another audience', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ aud: 'another-service' })) }), 401, 'UNAUTHORIZED'],
  ['token aud as an array without ours', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ aud: ['a', 'b'] })) }), 401, 'UNAUTHORIZED'],
  ['token aud with a trailing space', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ aud: `${AUDIENCE} ` })) }), 401, 'UNAUTHORIZED'],
  ['token without jti', async () => proxy.verify({ token: forge({ alg: 'HS256' }, without('jti')) }), 401, 'UNAUTHORIZED'],
  ['token with a numeric jti', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ jti: 42 })) }), 401, 'UNAUTHORIZED'],
  ['token without txn', async () => proxy.verify({ token: forge({ alg: 'HS256' }, without('txn')) }), 401, 'UNAUTHORIZED'],
  ['token with an empty txn, no transactionId header', async () => proxy.verify({ txn: null, token: forge({ alg: 'HS256' }, goodClaims({ txn: '' })) }), 401, 'UNAUTHORIZED'],
  ['token with a numeric txn', async () => proxy.verify({ token: forge({ alg: 'HS256' }, goodClaims({ txn: 1 })) }), 401, 'UNAUTHORIZED'],
  ['a server token (scope, no txn) as a caller token', async () => proxy.verify({ token: forge({ alg: 'HS256' }, { ...without('txn'), scope: 'transactions:read' }) }), 401, 'UNAUTHORIZED'],
  // (Not a needle of the leak scan: a receipt is the proxy's own answer, not a caller's secret.)
  ['a receipt replayed as a caller token', async () => proxy.verify({ token: receipt }), 401, 'UNAUTHORIZED'],
  ['token bound to another transactionId', async () => proxy.verify({ txn: 'txn-mine', token: await mint({ txn: 'txn-theirs' }) }), 401, 'UNAUTHORIZED'],
  ['token claims swapped under a valid signature', async () => {
    const [h, , s] = (await mint()).split('.');
    return proxy.verify({ token: noteToken(`${h}.${b64url(goodClaims({ nik_hmac: nikHmac(OTHER_NIK) }))}.${s}`) });
  }, 401, 'UNAUTHORIZED'],
  ['token with its signature in standard base64', async () => {
    const t = await mint();
    const [h, c, s] = t.split('.');
    return proxy.verify({ token: noteToken(`${h}.${c}.${Buffer.from(s, 'base64url').toString('base64')}`) });
  }, 401, 'UNAUTHORIZED'],
  ['token as JWS JSON serialization', async () => proxy.verify({ token: b64url({ payload: b64url(goodClaims()), signatures: [] }) }), 401, 'UNAUTHORIZED'],
  ['RS256 token from a real RSA key', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    return proxy.verify({ token: noteToken(await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'RS256' }).sign(privateKey)) });
  }, 401, 'UNAUTHORIZED'],
  ['Authorization: Basic with the secret', v({ token: null, headers: { authorization: `Basic ${b64(`x:${'y'.repeat(8)}`)}` } }), 401, 'UNAUTHORIZED'],
  // ---- methods and paths -------------------------------------------------------------------
  ['DELETE on the API', f('/v1/dukcapilWithFacematch', { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED'],
  ['PATCH on the API', f('/v1/dukcapilWithFacematch', { method: 'PATCH' }), 405, 'METHOD_NOT_ALLOWED'],
  ['PUT on the API', f('/v1/dukcapilWithFacematch', { method: 'PUT' }), 405, 'METHOD_NOT_ALLOWED'],
  ['GET on the API', f('/v1/dukcapilWithFacematch', { method: 'GET' }), 405, 'METHOD_NOT_ALLOWED'],
  ['POST on /healthz', f('/healthz'), 405, 'METHOD_NOT_ALLOWED'],
  ['PROPFIND (WebDAV) on the API', () => raw(['PROPFIND /v1/dukcapilWithFacematch HTTP/1.1', 'Content-Length: 0']), 405, 'METHOD_NOT_ALLOWED'],
  ['path in upper case', f('/V1/DUKCAPILWITHFACEMATCH'), 404, 'NOT_FOUND'],
  ['path with an encoded slash', f('/v1%2FdukcapilWithFacematch'), 404, 'NOT_FOUND'],
  ['path with a double slash', f('//v1/dukcapilWithFacematch'), 404, 'NOT_FOUND'],
  ['path with an encoded NUL', f('/v1/dukcapilWithFacematch%00'), 404, 'NOT_FOUND'],
  ['path with a matrix parameter', f('/v1/dukcapilWithFacematch;jsessionid=1'), 404, 'NOT_FOUND'],
  ['path with a trailing dot segment', f('/v1/dukcapilWithFacematch/.'), 404, 'NOT_FOUND'],
  ['the upstream path prefix', f('/v1/dukcapilWithFacematch/v1/dukcapilWithFacematch'), 404, 'NOT_FOUND'],
  ['a path of 8 KB', f(`/${'a'.repeat(8192)}`), 404, 'NOT_FOUND'],
  ['/.env', f('/.env', { method: 'GET' }), 404, 'NOT_FOUND'],
  ['POST on the JWKS', f('/.well-known/jwks.json'), 405, 'METHOD_NOT_ALLOWED'],
  ['PUT on the JWKS', f('/.well-known/jwks.json', { method: 'PUT' }), 405, 'METHOD_NOT_ALLOWED'],
  ['the JWKS path in upper case', f('/.well-known/JWKS.json', { method: 'GET' }), 404, 'NOT_FOUND'],
  ['the JWKS path with a trailing slash', f('/.well-known/jwks.json/', { method: 'GET' }), 404, 'NOT_FOUND'],
  ['a private key path next to the JWKS', f('/.well-known/jwks-private.json', { method: 'GET' }), 404, 'NOT_FOUND'],
];

test(`hostile inputs: ${cases.length} cases, each refused with its code and no upstream call`, async (t) => {
  assert.ok(cases.length >= 60, `only ${cases.length} cases`);
  let passed = 0;
  const failures = [];
  for (const [name, send, status, code] of cases) {
    const before = double.requests.length;
    let res;
    try {
      res = await send();
      if (res.resets) t.diagnostic(`${name}: answered after ${res.resets} connection reset(s) (rawUpload)`);
      assert.equal(res.status, status, `status: ${(res.text ?? res.raw ?? '').slice(0, 200)}`);
      assert.equal(res.json?.error?.code, code, 'error.code');
      if (res.headers && Object.keys(res.headers).length) assertError(res, status, code);
      assert.equal(double.requests.length, before, 'the upstream was called');
      passed++;
    } catch (e) {
      failures.push(`${name}: ${e.message.split('\n')[0]}`);
    }
  }
  t.diagnostic(`hostile cases passed: ${passed}/${cases.length}`);
  console.log(`hostile cases passed: ${passed}/${cases.length}, upstream requests: ${double.requests.length}`);
  assert.deepEqual(failures, []);
  assert.equal(double.requests.length, 0, 'the double saw a request');
});

// A JPEG signature followed by anything passes the proxy's magic-byte check by design: the
// proxy does not decode images (a decoder in the Worker would blow its size and CPU budget),
// and HyperVerge judges the picture. So these are forwarded exactly once, byte for byte, and
// the caller gets the upstream's verdict, here the documented "face not detected".
test('by design: a JPEG signature followed by garbage or a polyglot is forwarded, once', async () => {
  const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('garbage that is not a JPEG'.repeat(20))]);
  const jpegThenZip = Buffer.concat([jpegBytes(200), ZIP]);
  const jpegThenHtml = Buffer.concat([jpegBytes(200), Buffer.from(HTML)]);
  const signatureOnly = Buffer.from([0xff, 0xd8, 0xff]);
  for (const bytes of [garbage, jpegThenZip, jpegThenHtml, signatureOnly]) {
    const image = b64(bytes);
    noteImage(image);
    double.reset();
    double.behave('face-fail');
    const res = await proxy.verify({ image });
    assertError(res, 422, 'FACE_NOT_DETECTED');
    assert.equal(double.requests.length, 1);
    assert.deepEqual(double.requests[0].violations, []);
    assert.equal(double.requests[0].body.image, image, 'forwarded byte for byte');
  }
  double.reset();
});

// Past workerd's header limit the runtime answers by itself, before the Worker runs: a plain
// 431 (no JSON envelope, so not in the table above), and nothing goes upstream.
test('a 200 KB header is refused by the runtime: 431, no upstream call', async () => {
  double.reset();
  const head = `POST /v1/dukcapilWithFacematch HTTP/1.1\r\nHost: proxy.test\r\nContent-Type: application/json\r\nX-Padding: `;
  // Sent in pieces, stopping once the answer starts (so the reset that follows cannot hide it).
  const pieces = [...Array.from({ length: 50 }, () => 'a'.repeat(4096)), `\r\nContent-Length: 2\r\n\r\n{}`];
  const res = await rawUpload(proxy.url, head, pieces, { paceMs: 5 });
  assert.equal(res.status, 431);
  assert.equal(double.requests.length, 0);
});

// A bare CR or LF inside a header value ends that header in workerd's HTTP parser: the rest
// becomes a request header of its own. Nothing reaches the answer: the proxy echoes only the
// validated transactionId, and sets no cookie.
test('a CR or LF in a transactionId cannot split the answer', async () => {
  // A transaction each: the ledger answers a finished one without calling upstream.
  for (const [txn, sep] of [['abc-cr', '\r'], ['abc-lf', '\n']]) {
    double.reset();
    const res = await rawPost([`transactionId: ${txn}${sep}Set-Cookie: pwned=1`], body(NIK), txn);
    const head = res.raw.slice(0, res.raw.indexOf('\r\n\r\n'));
    assert.doesNotMatch(head, /set-cookie|pwned/i);
    assert.match(head, new RegExp(`\r\ntransactionId: ${txn}\r\n`));
    assert.equal(res.status, 200);
    assert.equal(double.requests.length, 1);
    assert.equal(double.requests[0].headers.transactionid, txn);
  }
  double.reset();
});

test('no appId, appKey, secret, token, full NIK or image data leaked', () => {
  const n = assertNoLeaksStrict();
  console.log(`leak scan: ${n.answers} answers, ${n.logLines} log lines, ${n.niks} NIKs, ${n.images} images: 0 leaks`);
});
