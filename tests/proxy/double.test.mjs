// The HyperVerge double itself: it must refuse every contract violation the way the vendor
// documents it (never answer a match), and fail at teardown over violations no test declared.
// Requests go straight to the double over node:http (no proxy), so each one is exactly as sent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startDouble } from './hyperverge-double.mjs';
import { APP_ID, APP_KEY, NIK, JPEG, JPEG_B64, GIF_B64, jpegBytes } from './harness.mjs';

let double;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
});
after(() => double?.close());

function send(url, { method = 'POST', path = '/v1/dukcapilWithFacematch', headers = {}, body = '' }) {
  const { hostname, port } = new URL(url);
  const payload = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method, headers: { 'content-length': payload.length, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const contract = (over = {}) => ({
  headers: { 'content-type': 'application/json', appId: APP_ID, appKey: APP_KEY, transactionId: 'dbl-1', ...over.headers },
  body: over.body ?? JSON.stringify({ id: NIK, image: JPEG_B64 }),
  ...(over.method && { method: over.method }),
  ...(over.path && { path: over.path }),
});
const without = (name) => {
  const c = contract();
  delete c.headers[name];
  return c;
};

const IMAGE_MISSING = [400, 'Image not found'];
const IMAGE_TYPE = [400, 'Invalid file type for: image'];
const NIK_INVALID = [200, 'nik format is not valid'];

// [name, request, violation (null: none), status, message (or, for a 200, result.message)]
const cases = [
  ['the contract', contract(), null, 200, 'Face matched'],
  ['wrong appKey (a misconfigured proxy, not a violation)', contract({ headers: { appKey: 'fake-other' } }), null, 401, 'Missing/Invalid credentials'],
  ['no appKey header', without('appKey'), 'appId or appKey header missing', 401, 'Missing/Invalid credentials'],
  ['GET', contract({ method: 'GET' }), 'unexpected GET', 404, 'Not Found'],
  ['another path', contract({ path: '/v1/other' }), 'unexpected POST /v1/other', 404, 'Not Found'],
  ['no transactionId', without('transactionId'), 'transactionId header missing', 400, 'transactionId is required'],
  ["the caller's Authorization header", contract({ headers: { authorization: 'Bearer x.y.z' } }), 'header authorization', 400, 'Unexpected header: authorization'],
  ["the caller's IP (cf-connecting-ip)", contract({ headers: { 'cf-connecting-ip': '198.51.100.7' } }), 'header cf-connecting-ip', 400, 'Unexpected header: cf-connecting-ip'],
  ["the caller's Origin header", contract({ headers: { origin: 'https://kyc.example.co.id' } }), 'header origin', 400, 'Unexpected header: origin'],
  ['content-type text/plain', contract({ headers: { 'content-type': 'text/plain' } }), 'content-type text/plain', ...IMAGE_MISSING],
  ['a body that is not JSON', contract({ body: '{"id":' }), 'body is not JSON', ...IMAGE_MISSING],
  ['a JSON array', contract({ body: '[]' }), 'body is not a JSON object', ...IMAGE_MISSING],
  ['an extra key', contract({ body: JSON.stringify({ id: NIK, image: JPEG_B64, txn: 'x' }) }), 'body keys id,image,txn', 400, 'Unexpected field: txn'],
  ['no image', contract({ body: JSON.stringify({ id: NIK }) }), 'image missing', ...IMAGE_MISSING],
  ['an empty image', contract({ body: JSON.stringify({ id: NIK, image: '' }) }), 'image missing', ...IMAGE_MISSING],
  ['base64 with stray bits (non-canonical)', contract({ body: JSON.stringify({ id: NIK, image: `${JPEG_B64.slice(0, -2)}B=` }) }), 'not canonical base64', ...IMAGE_TYPE],
  ['URL-safe base64', contract({ body: JSON.stringify({ id: NIK, image: JPEG.toString('base64url') }) }), 'not canonical base64', ...IMAGE_TYPE],
  ['a data: URL', contract({ body: JSON.stringify({ id: NIK, image: `data:image/jpeg;base64,${JPEG_B64}` }) }), 'not canonical base64', ...IMAGE_TYPE],
  ['a GIF', contract({ body: JSON.stringify({ id: NIK, image: GIF_B64 }) }), 'not jpeg/png/pdf', ...IMAGE_TYPE],
  ['2,000,001 bytes', contract({ body: JSON.stringify({ id: NIK, image: jpegBytes(2_000_001).toString('base64') }) }), 'image 2000001 bytes', 200, 'image larger than 2M'],
  ['an id of 15 digits', contract({ body: JSON.stringify({ id: NIK.slice(1), image: JPEG_B64 }) }), 'id is not 16 digits', ...NIK_INVALID],
  ['an id as a number', contract({ body: `{"id":${NIK},"image":"${JPEG_B64}"}` }), 'id is not 16 digits', ...NIK_INVALID],
  ['a NIK with separators', contract({ body: JSON.stringify({ id: '3273-0101-0190-1234', image: JPEG_B64 }) }), 'id is not 16 digits', ...NIK_INVALID],
];

for (const [name, request, violation, status, message] of cases) {
  test(`the double answers ${name} with ${status} "${message}"`, async () => {
    if (violation) double.expectViolation(violation);
    double.reset();
    const res = await send(double.url, request);
    assert.equal(res.status, status);
    const said = status === 200 ? res.json.result.message : res.json.message;
    assert.equal(said, message);
    if (status !== 200 || message !== 'Face matched') assert.equal(res.json.result?.details, undefined, 'a refusal never carries a verdict');
    assert.equal(double.requests.length, 1);
    const seen = double.requests[0].violations;
    if (violation) assert.ok(seen.some((v) => v.includes(violation)), `violations: ${seen.join('; ')}`);
    else assert.deepEqual(seen, []);
  });
}

test('a behaviour answers only requests that keep the contract', async () => {
  double.reset();
  double.behave('nomatch');
  assert.equal((await send(double.url, contract())).json.result.details.match, 'false');
  double.expectViolation('image is not jpeg/png/pdf');
  assert.equal((await send(double.url, contract({ body: JSON.stringify({ id: NIK, image: GIF_B64 }) }))).status, 400);
  assert.throws(() => double.behave('no-such-behaviour'), /unknown behaviour/);
});

test('a violation no test declared fails the teardown, and reset() does not hide it', async () => {
  const other = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  await send(other.url, without('transactionId'));
  other.reset();
  assert.deepEqual(other.unexpectedViolations(), ['transactionId header missing (transactionId none)']);
  await assert.rejects(other.close(), /1 contract violation\(s\) no test expected: transactionId header missing/);

  const declared = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  await send(declared.url, without('transactionId'));
  declared.expectViolation(/transactionId header/);
  assert.deepEqual(declared.unexpectedViolations(), []);
  await declared.close();
});
