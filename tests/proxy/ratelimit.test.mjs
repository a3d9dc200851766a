// Rate limiting through the Workers bindings: by client IP, by token subject, and by NIK.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, startDouble, assertError, assertNoLeaks, mint, freshTxn, nikWithSerial, noteNik, APP_ID, APP_KEY, LIMITS } from './harness.mjs';

const double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
after(() => double.close());

const limits = (ip, subject, nik = 1000) => ({
  IP_RATE_LIMITER: { simple: { limit: ip, period: 60 } },
  SUBJECT_RATE_LIMITER: { simple: { limit: subject, period: 60 } },
  NIK_RATE_LIMITER: { simple: { limit: nik, period: 60 } },
});

/** A request of a transaction of its own, with a token for `sub` (and `nik`). */
async function owned({ sub, nik, headers }) {
  const txn = freshTxn();
  return { nik, txn, headers, token: await mint({ sub, txn, ...(nik ? { nik } : {}) }) };
}

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
      const ok = await p.verify(await owned({ sub, headers: ip }));
      assert.equal(ok.status, 200, ok.text);
    }
    assert.equal(double.requests.length, 3);
  } finally {
    await p.dispose();
  }
});

test('anonymous calls (the sandbox only) spend the IP budget', async () => {
  const sandbox = { SANDBOX: 'true', ALLOW_ANONYMOUS: 'true', HV_APP_ID: null, HV_APP_KEY: null, PROXY_JWT_SECRET: null };
  const p = await startProxy(sandbox, { double, ratelimits: limits(2, 1000) });
  try {
    const ip = { 'cf-connecting-ip': '192.0.2.30' };
    assert.equal((await p.verify({ token: null, headers: ip })).status, 200);
    assert.equal((await p.verify({ token: null, headers: ip })).status, 200);
    assertError(await p.verify({ token: null, headers: ip }), 429, 'RATE_LIMITED');
  } finally {
    await p.dispose();
  }
});

test('per NIK, whoever asks: one face is not probed more often than the budget', async () => {
  const p = await startProxy({}, { double, ratelimits: limits(1000, 1000, 2) });
  try {
    double.reset();
    const nik = nikWithSerial('7777');
    noteNik(nik);
    const as = async (sub, n) => p.verify({ ...(await owned({ sub, nik: n })), headers: { 'cf-connecting-ip': `192.0.2.${40 + sub.length}` } });
    assert.equal((await as('alice', nik)).status, 200);
    assert.equal((await as('bob', nik)).status, 200);
    const res = await as('carol', nik);
    assertError(res, 429, 'RATE_LIMITED');
    assert.equal(res.headers['retry-after'], '60');
    const log = await p.logFor(res.headers['x-request-id']);
    assert.equal(log.reason, 'rate_limited_nik');
    // Spent after the body checks, and before anything upstream.
    assert.equal(double.requests.length, 2);
    assert.equal((await as('carol', nikWithSerial('7778'))).status, 200);
  } finally {
    await p.dispose();
  }
});

test('per token subject, across IPs', async () => {
  const p = await startProxy({}, { double, ratelimits: limits(1000, 2) });
  try {
    double.reset();
    const as = async (sub, ip) => p.verify(await owned({ sub, headers: { 'cf-connecting-ip': ip } }));
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

test('missing bindings do not crash: unlimited, with one warning per isolate and binding', async () => {
  const { SUBJECT_RATE_LIMITER } = LIMITS;
  const p = await startProxy({}, { double, ratelimits: { SUBJECT_RATE_LIMITER } });
  try {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await p.verify({}));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
    const logs = await Promise.all(answers.map((r) => p.logFor(r.headers['x-request-id'])));
    const warnings = logs.map((l) => (l.warnings ?? []).filter((w) => w === 'rate_limiter_missing').length);
    // The NIK limiter is missing (the IP one is never asked for a token holder).
    assert.deepEqual(warnings, [1, 0, 0]);
  } finally {
    await p.dispose();
  }
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
