// Rate limiting through the Workers binding, by client IP and by token subject.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, startDouble, assertError, assertNoLeaks, mint, APP_ID, APP_KEY } from './harness.mjs';

const double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
after(() => double.close());

const limits = (ip, subject) => ({
  IP_RATE_LIMITER: { simple: { limit: ip, period: 60 } },
  SUBJECT_RATE_LIMITER: { simple: { limit: subject, period: 60 } },
});

test('per client IP, for callers without a valid token: over the limit → 429 with Retry-After', async () => {
  const p = await startProxy({}, { double, ratelimits: limits(2, 1000) });
  try {
    double.reset();
    const ip = { 'cf-connecting-ip': '192.0.2.10' };
    assertError(await p.verify({ token: null, headers: ip }), 401, 'UNAUTHORIZED');
    assertError(await p.verify({ token: 'not.a.token', headers: ip }), 401, 'UNAUTHORIZED');
    const res = await p.verify({ token: null, headers: ip });
    assertError(res, 429, 'RATE_LIMITED');
    assert.equal(res.headers['retry-after'], '60');
    assert.equal(res.json.error.retryable, true);
    assert.equal((await p.logFor(res.headers['x-request-id'])).reason, 'rate_limited_ip');
    // Another IP is counted separately.
    assertError(await p.verify({ token: null, headers: { 'cf-connecting-ip': '192.0.2.11' } }), 401, 'UNAUTHORIZED');
    // Token holders behind the same address (a carrier's NAT) are not affected.
    for (const sub of ['alice', 'bob', 'carol']) {
      const ok = await p.verify({ token: await mint({ sub }), headers: ip });
      assert.equal(ok.status, 200, ok.text);
    }
    assert.equal(double.requests.length, 3);
  } finally {
    await p.dispose();
  }
});

test('anonymous calls spend the IP budget', async () => {
  const p = await startProxy({ ALLOW_ANONYMOUS: 'true', PROXY_JWT_SECRET: null }, { double, ratelimits: limits(2, 1000) });
  try {
    double.reset();
    const ip = { 'cf-connecting-ip': '192.0.2.30' };
    assert.equal((await p.verify({ token: null, headers: ip })).status, 200);
    assert.equal((await p.verify({ token: null, headers: ip })).status, 200);
    assertError(await p.verify({ token: null, headers: ip }), 429, 'RATE_LIMITED');
    assert.equal(double.requests.length, 2);
  } finally {
    await p.dispose();
  }
});

test('per token subject, across IPs', async () => {
  const p = await startProxy({}, { double, ratelimits: limits(1000, 2) });
  try {
    double.reset();
    const as = async (sub, ip) => p.verify({ token: await mint({ sub }), headers: { 'cf-connecting-ip': ip } });
    assert.equal((await as('alice', '192.0.2.20')).status, 200);
    assert.equal((await as('alice', '192.0.2.21')).status, 200);
    const res = await as('alice', '192.0.2.22');
    assertError(res, 429, 'RATE_LIMITED');
    assert.equal((await p.logFor(res.headers['x-request-id'])).reason, 'rate_limited_subject');
    assert.equal((await as('bob', '192.0.2.22')).status, 200);
    assert.equal(double.requests.length, 3);
  } finally {
    await p.dispose();
  }
});

test('missing bindings do not crash: unlimited, with one warning per isolate', async () => {
  const p = await startProxy({}, { double, ratelimits: {} });
  try {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await p.verify({}));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
    const logs = await Promise.all(answers.map((r) => p.logFor(r.headers['x-request-id'])));
    const warned = logs.filter((l) => (l.warnings ?? []).includes('rate_limiter_missing'));
    assert.equal(warned.length, 1);
  } finally {
    await p.dispose();
  }
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
