// Every refusal happens before the upstream is called: the double must see zero requests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startProxy, startDouble, assertError, multipart, assertNoLeaks, rawRequest, mint, noteNik,
  APP_ID, APP_KEY, NIK, JPEG_B64, GIF_B64, jpegBytes,
} from './harness.mjs';

let double, proxy;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({}, { double });
});
after(async () => {
  await proxy?.dispose();
  await double?.close();
});

const MAX = 2_000_000;
const big = (n) => jpegBytes(n).toString('base64');

const json = (o) => JSON.stringify(o);
const cases = [
  // [name, request options, status, code]
  ['GET on the API', { method: 'GET' }, 405, 'METHOD_NOT_ALLOWED'],
  ['PUT on the API', { method: 'PUT' }, 405, 'METHOD_NOT_ALLOWED'],
  ['unknown path', { path: '/v1/other' }, 404, 'NOT_FOUND'],
  ['trailing slash', { path: '/v1/dukcapilWithFacematch/' }, 404, 'NOT_FOUND'],
  ['path with a NIK', { path: `/${NIK}` }, 404, 'NOT_FOUND'],
  ['text/plain', { contentType: 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['form-urlencoded', { contentType: 'application/x-www-form-urlencoded', body: `id=${NIK}` }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['no content-type', { contentType: null }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['json in latin1', { contentType: 'application/json; charset=iso-8859-1' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['multipart without boundary', { contentType: 'multipart/form-data' }, 400, 'REQUEST_INVALID'],
  ['multipart with two boundaries', { contentType: 'multipart/form-data; boundary=a; boundary=b' }, 400, 'REQUEST_INVALID'],
  ['json with two charsets', { contentType: 'application/json; charset=utf-8; charset=utf-8' }, 400, 'REQUEST_INVALID'],
  ['not JSON', { body: '{"id":' }, 400, 'REQUEST_INVALID'],
  ['JSON array', { body: json([NIK, JPEG_B64]) }, 400, 'REQUEST_INVALID'],
  ['unknown field', { body: json({ id: NIK, image: JPEG_B64, extra: 1 }) }, 400, 'REQUEST_INVALID'],
  ['duplicate key', { body: `{"id":"${NIK}","id":"${NIK}","image":"${JPEG_B64}"}` }, 400, 'REQUEST_INVALID'],
  ['id as number', { body: `{"id":${NIK},"image":"${JPEG_B64}"}` }, 400, 'REQUEST_INVALID'],
  ['trailing data', { body: json({ id: NIK, image: JPEG_B64 }) + 'x' }, 400, 'REQUEST_INVALID'],
  ['empty body', { body: '' }, 400, 'REQUEST_INVALID'],
  ['missing id', { body: json({ image: JPEG_B64 }) }, 400, 'NIK_EMPTY'],
  ['missing image', { body: json({ id: NIK }) }, 400, 'IMAGE_MISSING'],
  ['short NIK', { nik: '327301010190123' }, 400, 'NIK_LENGTH'],
  ['letters in NIK', { nik: '32730101019012a4' }, 400, 'NIK_NOT_DIGITS'],
  ['unknown province', { nik: '9973010101901234' }, 400, 'NIK_PROVINCE'],
  ['day 32', { nik: '3273013201901234' }, 400, 'NIK_BIRTH_DATE'],
  ['31 February', { nik: '3273013102901234' }, 400, 'NIK_BIRTH_DATE'],
  ['serial 0000', { nik: '3273010101900000' }, 400, 'NIK_SERIAL'],
  ['image not base64', { image: 'not base64!!' }, 400, 'IMAGE_BASE64'],
  ['url-safe base64', { image: '_9j_4A==' }, 400, 'IMAGE_BASE64'],
  ['GIF image', { image: GIF_B64 }, 415, 'IMAGE_TYPE'],
  ['empty image', { image: '' }, 400, 'IMAGE_MISSING'],
  ['image 2,000,001 bytes', { image: big(MAX + 1) }, 413, 'IMAGE_TOO_LARGE'],
  ['body over the cap', { body: json({ id: NIK, image: big(2_700_000) }) }, 413, 'PAYLOAD_TOO_LARGE'],
  ['transactionId with a space', { txn: 'a b' }, 400, 'TRANSACTION_ID_INVALID'],
  ['transactionId of 129 chars', { txn: 'x'.repeat(129) }, 400, 'TRANSACTION_ID_INVALID'],
  ['transactionId with slash', { txn: 'a/b' }, 400, 'TRANSACTION_ID_INVALID'],
  ['disallowed Origin', { headers: { origin: 'https://evil.example' } }, 403, 'ORIGIN_NOT_ALLOWED'],
  ['Origin null', { headers: { origin: 'null' } }, 403, 'ORIGIN_NOT_ALLOWED'],
];

for (const [name, o, status, code] of cases) {
  test(`refuses: ${name} → ${status} ${code}`, async () => {
    if (typeof o.nik === 'string') noteNik(o.nik);
    const before = double.requests.length;
    let res;
    if (o.method || o.path) {
      const token = await mint();
      res = await proxy.fetch(o.path ?? '/v1/dukcapilWithFacematch', {
        method: o.method ?? 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: (o.method ?? 'POST') === 'GET' ? undefined : json({ id: NIK, image: JPEG_B64 }),
      });
    } else {
      res = await proxy.verify(o);
    }
    assertError(res, status, code);
    if (status === 405) assert.equal(res.headers.allow, 'POST, OPTIONS');
    assert.equal(double.requests.length, before, 'the upstream was called');
    const log = await proxy.logFor(res.headers['x-request-id']);
    assert.equal(log.code, code);
    assert.equal(log.status, status);
  });
}

test('a multipart body is held to the same rules', async () => {
  const jpeg = new Blob([jpegBytes(100)], { type: 'image/jpeg' });
  const gif = new Blob([Buffer.from('GIF89a....')], { type: 'image/gif' });
  const table = [
    [[['id', NIK], ['image', jpeg], ['extra', 'x']], 400, 'REQUEST_INVALID'],
    [[['id', NIK], ['id', NIK], ['image', jpeg]], 400, 'REQUEST_INVALID'],
    [[['id', NIK], ['image', gif]], 415, 'IMAGE_TYPE'],
    [[['id', NIK]], 400, 'IMAGE_MISSING'],
    [[['id', '12'], ['image', jpeg]], 400, 'NIK_LENGTH'],
    [[['image', jpeg]], 400, 'NIK_EMPTY'],
    [[['id', NIK], ['image', new Blob([jpegBytes(MAX + 1)])]], 413, 'IMAGE_TOO_LARGE'],
    [[['id', NIK], ['image', new Blob([jpegBytes(MAX + 64 * 1024)])]], 413, 'PAYLOAD_TOO_LARGE'],
  ];
  // A part that names itself twice is refused, whatever the names.
  const twice = Buffer.from(`--b\r\nContent-Disposition: form-data; name="image"; name="id"\r\n\r\n${NIK}\r\n--b--\r\n`);
  assertError(await proxy.verify({ contentType: 'multipart/form-data; boundary=b', body: twice }), 400, 'REQUEST_INVALID');
  for (const [fields, status, code] of table) {
    const { contentType, body } = await multipart(fields);
    const res = await proxy.verify({ contentType, body });
    assertError(res, status, code);
  }
  assert.equal(double.requests.length, 0);
});

test('lying or missing content-length cannot get past the caps', async () => {
  const token = await mint();
  const head = (extra) => `POST /v1/dukcapilWithFacematch HTTP/1.1\r\nHost: proxy.test\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\ncf-connecting-ip: 198.51.100.77\r\n${extra}\r\n`;
  // Declares 50 MB, sends a few bytes: refused from the header alone.
  let res = await rawRequest(proxy.url, head('Content-Length: 50000000\r\n'), ['{"id":'], { endAfterMs: 2000 });
  assert.equal(res.status, 413);
  assert.equal(res.json?.error?.code, 'PAYLOAD_TOO_LARGE');
  // Chunked (no length) and larger than the cap: refused by the bytes actually read.
  const chunk = Buffer.alloc(256 * 1024, 0x41);
  const chunks = [];
  for (let i = 0; i < 14; i++) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
  chunks.push('0\r\n\r\n');
  res = await rawRequest(proxy.url, head('Transfer-Encoding: chunked\r\n'), chunks);
  assert.equal(res.status, 413);
  assert.equal(res.json?.error?.code, 'PAYLOAD_TOO_LARGE');
  assert.equal(double.requests.length, 0);
});

test('the double saw no request at all from this suite', () => {
  assert.equal(double.requests.length, 0);
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
