// What reaches HyperVerge, and how every upstream answer and fault comes back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startProxy, startDouble, assertError, assertCommonHeaders, assertNoLeaks, multipart,
  APP_ID, APP_KEY, NIK, JPEG_B64, PNG, noteImage,
} from './harness.mjs';

let double, proxy;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({ UPSTREAM_TIMEOUT_MS: '700' }, { double });
});
after(async () => {
  await proxy?.dispose();
  await double?.close();
});

function assertForwarded(rec, { txn, image = JPEG_B64, nik = NIK } = {}) {
  assert.deepEqual(rec.violations, [], 'the double found contract violations');
  assert.equal(rec.headers.appid, APP_ID);
  assert.equal(rec.headers.appkey, APP_KEY);
  assert.equal(rec.headers['content-type'], 'application/json');
  if (txn) assert.equal(rec.headers.transactionid, txn);
  assert.deepEqual(rec.body, { id: nik, image });
  assert.equal(rec.headers.authorization, undefined, 'the caller token went upstream');
}

test('a match in each documented shape is normalised', async () => {
  for (const [behaviour, match, score] of [['match', true, 87.5], ['match-table', true, 91], ['match-yes', true, 77], ['nomatch', false, 12.25]]) {
    double.reset();
    double.behave(behaviour);
    const res = await proxy.verify({ txn: `txn-${behaviour}` });
    assert.equal(res.status, 200, res.text);
    assertCommonHeaders(res);
    assert.equal(res.json.status, 'success');
    assert.equal(res.json.statusCode, 200);
    assert.equal(res.json.result.details.match, match);
    assert.equal(res.json.result.details.score, score);
    assert.equal(res.json.result.s3Url, undefined, 's3Url must be removed by default');
    assert.equal(res.json.metaData.transactionId, `txn-${behaviour}`);
    assert.equal(res.json.metaData.requestId, res.headers['x-request-id']);
    assert.equal(res.json.sandbox, undefined);
    assert.equal(res.headers.transactionid, `txn-${behaviour}`);
    assert.match(res.headers['server-timing'], /^upstream;dur=[\d.]+, total;dur=[\d.]+$/);
    assert.equal(double.requests.length, 1);
    assertForwarded(double.requests[0], { txn: `txn-${behaviour}` });
    const log = await proxy.logFor(res.headers['x-request-id']);
    assert.equal(log.matched, match);
    assert.equal(log.nik, '3273**********34');
    assert.equal(typeof log.upstream_ms, 'number');
    assert.equal(log.transaction_id, `txn-${behaviour}`);
  }
});

test('without a transactionId a token (bound to its own) is refused; the proxy answers with a UUID v4', async () => {
  double.reset();
  const res = await proxy.verify({ txn: null });
  assertError(res, 401, 'UNAUTHORIZED');
  assert.equal((await proxy.logFor(res.headers['x-request-id'])).reason, 'token_txn_mismatch');
  const txn = res.headers.transactionid;
  assert.match(txn, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(res.json.metaData.transactionId, txn);
  assert.equal(double.requests.length, 0);
});

test('separators and a data: URL are normalised before forwarding', async () => {
  double.reset();
  const res = await proxy.verify({ nik: '3273-0101-0190-1234', tokenNik: NIK, image: `data:image/jpeg;base64,${JPEG_B64}` });
  assert.equal(res.status, 200, res.text);
  assertForwarded(double.requests[0]);
});

test('any JSON form of the request goes upstream as the one canonical body', async () => {
  const bodies = [
    `{"image":"${JPEG_B64}","id":"${NIK}"}`,
    ` {\n  "id" : "${NIK}",\n  "image" : "${JPEG_B64}"\n}\n`,
    `{"id":"${NIK}","image":"${JPEG_B64.replaceAll('/', '\\/')}"}`,
    `{"id":"\\u0033273010101901234","image":"${JPEG_B64}"}`,
  ];
  for (const [i, body] of bodies.entries()) {
    double.reset();
    const res = await proxy.verify({ body, txn: `canon-${i}` });
    assert.equal(res.status, 200, `${body.slice(0, 60)}: ${res.text}`);
    assert.equal(double.requests[0].raw, `{"id":"${NIK}","image":"${JPEG_B64}"}`);
    assertForwarded(double.requests[0], { txn: `canon-${i}` });
  }
});

test('concurrent bodies, read into reused buffers, each reach the upstream intact', async () => {
  double.reset();
  const sent = new Map();
  const one = async (i) => {
    const bytes = Buffer.alloc(150_000 + i * 37_000, i + 1);
    bytes.set([0xff, 0xd8, 0xff, 0xe0]);
    const image = bytes.toString('base64');
    noteImage(image);
    const txn = `pool-${i}`;
    sent.set(txn, image);
    // Every other body in another key order, so that it is spliced in place.
    const body = i % 2 ? JSON.stringify({ image, id: NIK }) : JSON.stringify({ id: NIK, image });
    const res = await proxy.verify({ body, txn });
    assert.equal(res.status, 200, res.text.slice(0, 200));
  };
  for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 8 }, (_, i) => one(round * 8 + i)));
  assert.equal(double.requests.length, 24);
  for (const rec of double.requests) {
    assert.deepEqual(rec.violations, []);
    assert.equal(rec.body.image, sent.get(rec.headers.transactionid), `the body of ${rec.headers.transactionid} went upstream changed`);
  }
});

test('multipart uploads go upstream as JSON with base64', async () => {
  double.reset();
  const { contentType, body } = await multipart([['id', NIK], ['image', new Blob([PNG], { type: 'image/png' })]]);
  const res = await proxy.verify({ contentType, body, txn: 'mp-1' });
  assert.equal(res.status, 200, res.text);
  assertForwarded(double.requests[0], { txn: 'mp-1', image: PNG.toString('base64') });
});

test('multipart parameters are read with their quotes: a filename cannot rename a part', async () => {
  double.reset();
  const b = 'XyZ';
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="id"\r\n\r\n${NIK}\r\n`),
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; filename="x; name=id; y"; name="image"\r\nContent-Type: image/png\r\n\r\n`),
    PNG,
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  const res = await proxy.verify({ contentType: `multipart/form-data; boundary="${b}"`, body });
  assert.equal(res.status, 200, res.text);
  assertForwarded(double.requests[0], { image: PNG.toString('base64') });
});

test('the largest allowed image (2,000,000 bytes) is forwarded intact', async () => {
  double.reset();
  const bytes = Buffer.alloc(2_000_000, 0x11);
  bytes.set([0xff, 0xd8, 0xff, 0xdb]);
  const image = bytes.toString('base64');
  noteImage(image);
  const res = await proxy.verify({ image });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assertForwarded(double.requests[0], { image });
});

const outcomes = [
  // [double behaviour, status, code]
  ['nik-invalid', 422, 'NIK_INVALID'],
  ['face-fail', 422, 'FACE_NOT_DETECTED'],
  ['too-large', 413, 'IMAGE_TOO_LARGE'],
  ['image-missing', 400, 'IMAGE_MISSING'],
  ['image-type', 415, 'IMAGE_TYPE'],
  ['multiple-faces', 422, 'MULTIPLE_FACES'],
  ['rate-limited', 429, 'UPSTREAM_RATE_LIMITED'],
  ['busy', 503, 'UPSTREAM_BUSY'],
  ['server-error', 502, 'UPSTREAM_ERROR'],
  ['unauthorized', 502, 'PROXY_UPSTREAM_CREDENTIALS'],
  ['token-expired', 502, 'PROXY_UPSTREAM_CREDENTIALS'],
  ['garbage', 502, 'UPSTREAM_ERROR'],
  ['empty-200', 502, 'UPSTREAM_ERROR'],
  ['missing-fields', 502, 'UPSTREAM_ERROR'],
  ['odd-fields', 502, 'UPSTREAM_ERROR'],
  ['score-out-of-range', 502, 'UPSTREAM_ERROR'],
  ['status-500-with-details', 502, 'UPSTREAM_ERROR'],
  ['duplicate-keys', 502, 'UPSTREAM_ERROR'],
  ['unknown-refusal', 422, 'UPSTREAM_REJECTED'],
  ['unknown-4xx', 422, 'UPSTREAM_REJECTED'],
  ['huge', 502, 'UPSTREAM_ERROR'],
  ['reset', 502, 'UPSTREAM_ERROR'],
  ['hang', 504, 'UPSTREAM_TIMEOUT'],
  ['slow-body', 504, 'UPSTREAM_TIMEOUT'],
];

for (const [behaviour, status, code] of outcomes) {
  test(`upstream ${behaviour} → ${status} ${code}`, async () => {
    double.reset();
    double.behave(behaviour);
    const res = await proxy.verify({ txn: `t-${behaviour}` });
    assertError(res, status, code);
    assert.equal(res.json.metaData.transactionId, `t-${behaviour}`);
    assert.equal(double.requests.length, 1, 'exactly one upstream call (no retries)');
    assertForwarded(double.requests[0], { txn: `t-${behaviour}` });
    if (status === 429) assert.equal(res.headers['retry-after'], '60');
    // A 504 is the abort timer firing (its length is pinned natively and in io.test.mjs).
    if (status === 504) assert.equal((await proxy.logFor(res.headers['x-request-id'])).reason, 'upstream_timeout');
    if (code === 'PROXY_UPSTREAM_CREDENTIALS') {
      // The caller gets a generic message; the log names the cause.
      assert.doesNotMatch(res.json.message, /credential|appKey|appId/i);
      const log = await proxy.logFor(res.headers['x-request-id']);
      assert.equal(log.reason, 'upstream_credentials_rejected');
      assert.equal(log.level, 'error');
    }
    assert.doesNotMatch(res.text, /s3\.example|Internal Server Error|DEPENDENCY|<html>/);
  });
}

test('wrong HyperVerge credentials in the proxy → 502 PROXY_UPSTREAM_CREDENTIALS', async () => {
  const wrong = await startProxy({ HV_APP_KEY: 'fake-wrong-key' }, { double });
  try {
    double.reset();
    const res = await wrong.verify({});
    assertError(res, 502, 'PROXY_UPSTREAM_CREDENTIALS');
    assert.equal(double.requests.length, 1);
  } finally {
    await wrong.dispose();
  }
});

test('EXPOSE_S3_URL=true passes s3Url through', async () => {
  const exposing = await startProxy({ EXPOSE_S3_URL: 'true' }, { double });
  try {
    double.reset();
    const res = await exposing.verify({});
    assert.equal(res.json.result.s3Url, 'https://s3.example/hv/selfie-3273.jpg');
  } finally {
    await exposing.dispose();
  }
});

test('fail closed: no HyperVerge secrets and no sandbox → 500, nothing forwarded', async () => {
  for (const vars of [{ HV_APP_ID: null, HV_APP_KEY: null }, { HV_APP_KEY: '' }, { HV_BASE_URL: 'http://example.com' }, { SANDBOX: 'TRUE', HV_APP_KEY: null }]) {
    const p = await startProxy(vars, { double });
    try {
      double.reset();
      const res = await p.verify({});
      assertError(res, 500, 'PROXY_MISCONFIGURED');
      const health = await p.fetch('/healthz');
      assert.equal(health.status, 503);
      assert.deepEqual(health.json, { status: 'unavailable', ready: false });
      assert.equal(double.requests.length, 0);
    } finally {
      await p.dispose();
    }
  }
});

test('the request id is fresh per request and never the upstream one', async () => {
  double.reset();
  const a = await proxy.verify({});
  const b = await proxy.verify({});
  assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  assert.notEqual(a.json.metaData.requestId, 'hv-req-0001');
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
