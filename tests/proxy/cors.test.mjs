// CORS with an exact-origin allowlist, /healthz, and the headers every answer carries.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startProxy, startDouble, assertError, assertCommonHeaders, assertNoLeaks, APP_ID, APP_KEY,
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

const ALLOWED = 'https://kyc.example.co.id';
const preflight = (origin, path = '/v1/dukcapilWithFacematch') =>
  proxy.fetch(path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, transactionid, cf-turnstile-response' },
  });

test('preflight from an allowed origin', async () => {
  const res = await preflight(ALLOWED);
  assert.equal(res.status, 204);
  assert.equal(res.text, '');
  assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
  assert.match(res.headers['access-control-allow-methods'], /POST/);
  for (const h of ['authorization', 'content-type', 'transactionid', 'cf-turnstile-response']) {
    assert.ok(res.headers['access-control-allow-headers'].split(/,\s*/).includes(h), h);
  }
  assert.equal(res.headers['access-control-max-age'], '600');
  assert.equal(res.headers.vary, 'Origin');
  assert.equal(res.headers['access-control-allow-credentials'], undefined);
  assertCommonHeaders(res);
});

test('preflight and requests from other origins are refused', async () => {
  for (const origin of ['https://evil.example', 'https://kyc.example.co.id.evil.example', 'http://kyc.example.co.id', 'https://KYC.example.co.id', 'null']) {
    const pre = await preflight(origin);
    assertError(pre, 403, 'ORIGIN_NOT_ALLOWED');
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    assertError(await proxy.verify({ headers: { origin } }), 403, 'ORIGIN_NOT_ALLOWED');
  }
  assert.equal(double.requests.length, 0);
});

test('an allowed origin gets its own origin back, with exposed headers', async () => {
  const res = await proxy.verify({ headers: { origin: 'http://localhost:8787' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['access-control-allow-origin'], 'http://localhost:8787');
  assert.match(res.headers['access-control-expose-headers'], /x-request-id/);
  assert.equal(res.headers.vary, 'Origin');
  // Errors carry CORS headers too, so the page can read them.
  const err = await proxy.verify({ nik: '1', headers: { origin: ALLOWED } });
  assertError(err, 400, 'NIK_LENGTH');
  assert.equal(err.headers['access-control-allow-origin'], ALLOWED);
});

test("the Worker's own origin passes without being listed (a page it serves, like the demo)", async () => {
  // The harness sends requests to https://proxy.test, which is not in ALLOWED_ORIGINS.
  const res = await proxy.verify({ headers: { origin: 'https://proxy.test' } });
  assert.equal(res.status, 200, res.text);
  for (const origin of ['http://proxy.test', 'https://proxy.test:8443', 'https://proxy.test.evil.example']) {
    assertError(await proxy.verify({ headers: { origin } }), 403, 'ORIGIN_NOT_ALLOWED');
  }
});

test('server-to-server calls (no Origin) pass without CORS headers', async () => {
  const res = await proxy.verify({});
  assert.equal(res.status, 200);
  assert.equal(res.headers['access-control-allow-origin'], undefined);
  assert.equal(res.headers.vary, 'Origin');
});

test('/healthz reports readiness and nothing else', async () => {
  const res = await proxy.fetch('/healthz');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { status: 'ok', ready: true });
  assertCommonHeaders(res);
  for (const secretish of [APP_ID, APP_KEY, 'hyperverge', '127.0.0.1', 'kyc.example']) assert.ok(!res.text.includes(secretish));
  assertError(await proxy.fetch('/healthz', { method: 'POST', body: '{}' }), 405, 'METHOD_NOT_ALLOWED');
  assert.equal((await proxy.fetch('/healthz', { method: 'HEAD' })).status, 200);
});

test('every answer is no-store, nosniff, with x-request-id and Server-Timing', async () => {
  const answers = [
    await proxy.fetch('/'),
    await proxy.fetch('/healthz'),
    await preflight(ALLOWED),
    await proxy.verify({}),
    await proxy.verify({ token: null }),
    await proxy.verify({ txn: 'bad txn' }),
    await proxy.fetch('/v1/dukcapilWithFacematch', { method: 'DELETE' }),
  ];
  for (const res of answers) assertCommonHeaders(res);
  const ids = new Set(answers.map((r) => r.headers['x-request-id']));
  assert.equal(ids.size, answers.length);
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
