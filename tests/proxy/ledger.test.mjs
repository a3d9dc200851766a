// The transaction ledger on Durable Objects (workerd's own, SQLite-backed): exactly one billed
// upstream call per transaction under concurrency, replays without calls, retries after
// failures up to the cap, owners, fail closed, retention, and the backend's results endpoint.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import {
  startProxy, startDouble, assertError, assertNoLeaks, mint, freshTxn, APP_ID, APP_KEY, OTHER_NIK, NIK,
  JWT_SECRET, AUDIENCE, BACKEND,
} from './harness.mjs';
import { createBackend } from '../../examples/backend-node/server.mjs';

let double;
let proxy;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({}, { double });
});
after(async () => {
  await proxy?.dispose();
  await double?.close();
});

/** A request of its own transaction, with its token: send it as often as you like. */
async function transaction({ sub = 'customer-42', nik } = {}) {
  const txn = freshTxn();
  const token = await mint({ txn, sub, ...(nik ? { nik } : {}) });
  return { txn, token, ...(nik ? { nik } : {}) };
}

/** A server token for the results endpoint. */
const reader = ({ sub = 'customer-42', scope = 'transactions:read' } = {}) =>
  mint({ sub, nik: null, txn: null, claims: scope ? { scope } : {} });

const results = (p, txn, token, headers = {}) =>
  p.fetch(`/v1/transactions/${txn}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

/** Waits for `done()` to hold, checking whenever the double sees a request: a hang guard only. */
async function until(done, what) {
  const guard = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > guard) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const jtiOf = (res) => decodeJwt(res.json.receipt).jti;

test('32 concurrent identical requests make exactly one upstream call', async () => {
  double.reset();
  const t = await transaction();
  // The first call is held upstream, so the others meet it in flight.
  double.hold();
  const first = proxy.verify(t);
  await until(() => double.requests.length === 1, 'the first upstream call');
  const during = await Promise.all(Array.from({ length: 31 }, () => proxy.verify(t)));
  for (const res of during) {
    assertError(res, 409, 'TRANSACTION_IN_PROGRESS');
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json.error.retryable, true);
  }
  double.release();
  const verdict = await first;
  assert.equal(verdict.status, 200, verdict.text);
  // And 32 at once after it: every one is the stored verdict, with the same receipt.
  const after32 = await Promise.all(Array.from({ length: 32 }, () => proxy.verify(t)));
  for (const res of after32) {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['idempotent-replayed'], 'true');
    assert.equal(jtiOf(res), jtiOf(verdict));
    assert.deepEqual(res.json.result.details, verdict.json.result.details);
  }
  assert.equal(double.requests.length, 1);
});

test('32 concurrent requests, unheld: one call, and each answer the verdict or a 409', async () => {
  double.reset();
  const t = await transaction();
  const answers = await Promise.all(Array.from({ length: 32 }, () => proxy.verify(t)));
  assert.equal(double.requests.length, 1);
  const verdicts = answers.filter((r) => r.status === 200);
  assert.ok(verdicts.length >= 1);
  assert.equal(new Set(verdicts.map(jtiOf)).size, 1, 'one receipt');
  for (const res of answers.filter((r) => r.status !== 200)) assertError(res, 409, 'TRANSACTION_IN_PROGRESS');
});

test('after an upstream timeout the next try calls again; after done, replays call nothing', async () => {
  double.reset();
  const t = await transaction();
  double.behave('hang');
  assertError(await proxy.verify(t), 504, 'UPSTREAM_TIMEOUT');
  double.behave('match');
  const done = await proxy.verify(t);
  assert.equal(done.status, 200, done.text);
  assert.equal(done.headers['idempotent-replayed'], undefined);
  assert.equal(double.requests.length, 2);
  for (let i = 0; i < 5; i++) {
    const again = await proxy.verify(t);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json.receipt, done.json.receipt);
  }
  assert.equal(double.requests.length, 2);
  const log = await proxy.logFor(done.headers['x-request-id']);
  assert.equal(log.attempt, 2);
});

test('a definitive refusal is replayed too, with its receipt', async () => {
  double.reset();
  const t = await transaction();
  double.behave('nik-invalid');
  const first = await proxy.verify(t);
  assertError(first, 422, 'NIK_INVALID');
  const again = await proxy.verify(t);
  assertError(again, 422, 'NIK_INVALID');
  assert.equal(again.json.receipt, first.json.receipt);
  assert.equal(double.requests.length, 1);
});

test('at most MAX_UPSTREAM_ATTEMPTS calls, then a clear non-retryable error', async () => {
  double.reset();
  const t = await transaction();
  double.behave('reset');
  for (let i = 0; i < 3; i++) assertError(await proxy.verify(t), 502, 'UPSTREAM_ERROR');
  double.behave('match');
  const res = await proxy.verify(t);
  assertError(res, 409, 'TRANSACTION_ATTEMPTS_EXHAUSTED');
  assert.equal(res.json.error.retryable, false);
  assert.equal(res.headers['retry-after'], undefined);
  assert.equal(double.requests.length, 3);
});

test('a token bound to one transaction is refused for another; another sub cannot claim or read it', async () => {
  double.reset();
  const t = await transaction();
  assertError(await proxy.verify({ ...t, txn: freshTxn() }), 401, 'UNAUTHORIZED');
  assert.equal((await proxy.verify(t)).status, 200);
  const other = await mint({ txn: t.txn, sub: 'customer-7' });
  const res = await proxy.verify({ txn: t.txn, token: other });
  assertError(res, 403, 'TRANSACTION_FORBIDDEN');
  assert.equal((await proxy.logFor(res.headers['x-request-id'])).reason, 'transaction_owner');
  assert.equal(res.json.receipt, undefined);
  // The same sub, another NIK, on the same transaction.
  const otherNik = await mint({ txn: t.txn, nik: OTHER_NIK });
  assertError(await proxy.verify({ txn: t.txn, token: otherNik, nik: OTHER_NIK }), 403, 'TRANSACTION_FORBIDDEN');
  assertError(await results(proxy, t.txn, await reader({ sub: 'customer-7' })), 403, 'TRANSACTION_FORBIDDEN');
  assert.equal(double.requests.length, 1);
});

test('a missing or failing ledger gives 503 and calls nothing, sandbox or live', async () => {
  const cases = [
    [{}, null, 'ledger_missing'],
    [{}, 'failing', 'ledger_failed'],
    [{ SANDBOX: 'true', HV_APP_ID: null, HV_APP_KEY: null }, null, 'ledger_missing'],
  ];
  for (const [vars, ledger, reason] of cases) {
    double.reset();
    const p = await startProxy(vars, { double, ledger });
    try {
      const res = await p.verify(await transaction());
      assertError(res, 503, 'LEDGER_UNAVAILABLE');
      assert.equal(res.headers['retry-after'], '2');
      assert.equal((await p.logFor(res.headers['x-request-id'])).reason, reason);
      assert.equal(double.requests.length, 0);
      // The results endpoint fails closed too.
      assertError(await results(p, 'txn-x', await reader()), 503, 'LEDGER_UNAVAILABLE');
    } finally {
      await p.dispose();
    }
  }
});

test('the sandbox goes through the ledger: one simulated call, then replays', async () => {
  const p = await startProxy({ SANDBOX: 'true', HV_APP_ID: null, HV_APP_KEY: null });
  try {
    const t = await transaction();
    const first = await p.verify(t);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.sandbox, true);
    const again = await p.verify(t);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json.receipt, first.json.receipt);
    assert.equal(again.json.sandbox, true);
  } finally {
    await p.dispose();
  }
});

test('a short LEDGER_TTL_SECONDS deletes the stored state: the transaction is then unknown', async () => {
  double.reset();
  const p = await startProxy({ LEDGER_TTL_SECONDS: '1' }, { double });
  try {
    const t = await transaction();
    assert.equal((await p.verify(t)).status, 200);
    const read = await reader();
    const found = await results(p, t.txn, read);
    assert.equal(found.status, 200, found.text);
    assert.equal(found.json.state, 'done');
    // The Durable Object's alarm deletes it (waiting on it is a hang guard, not a timing).
    await until(async () => (await results(p, t.txn, read)).status === 404, 'the alarm');
    assertError(await results(p, t.txn, read), 404, 'TRANSACTION_NOT_FOUND');
    // Unknown again, so a new try is a new transaction: one more call.
    assert.equal((await p.verify(t)).status, 200);
    assert.equal(double.requests.length, 2);
  } finally {
    await p.dispose();
  }
});

test('the results endpoint: scope, 401/403/404, the receipt once done, and no CORS', async () => {
  double.reset();
  const t = await transaction();
  const read = await reader();
  assertError(await results(proxy, t.txn, read), 404, 'TRANSACTION_NOT_FOUND');
  double.hold();
  const pending = proxy.verify(t);
  await until(() => double.requests.length === 1, 'the upstream call');
  const inFlight = await results(proxy, t.txn, read);
  assert.deepEqual(inFlight.json, { state: 'in_flight' });
  double.release();
  const verdict = await pending;
  const origin = { origin: 'https://kyc.example.co.id' };
  const done = await results(proxy, t.txn, read, origin);
  assert.equal(done.status, 200, done.text);
  assert.deepEqual(done.json, { state: 'done', receipt: verdict.json.receipt });
  assert.equal(done.headers['cache-control'], 'no-store');
  const cases = [
    ['no token', null, 401, 'UNAUTHORIZED'],
    ["a browser's caller token", t.token, 403, 'FORBIDDEN'],
    ['a server token without the scope', await reader({ scope: null }), 403, 'FORBIDDEN'],
    ['a server token with another scope', await reader({ scope: 'transactions:write' }), 403, 'FORBIDDEN'],
    ["another sub's token", await reader({ sub: 'customer-7' }), 403, 'TRANSACTION_FORBIDDEN'],
  ];
  for (const [what, token, status, code] of cases) {
    const res = await results(proxy, t.txn, token, origin);
    assertError(res, status, code);
    assert.ok(!Object.keys(res.headers).some((h) => h.startsWith('access-control-')), what);
  }
  for (const res of [done, await results(proxy, t.txn, read, origin)]) {
    assert.ok(!Object.keys(res.headers).some((h) => h.startsWith('access-control-')));
  }
  // No preflight either: a browser cannot call it.
  const preflight = await proxy.fetch(`/v1/transactions/${t.txn}`, {
    method: 'OPTIONS',
    headers: { ...origin, 'access-control-request-method': 'GET' },
  });
  assertError(preflight, 405, 'METHOD_NOT_ALLOWED');
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  assertError(await results(proxy, 'a%20b', read), 400, 'TRANSACTION_ID_INVALID');
  assert.equal(double.requests.length, 1);
});

test("the reference backend's recover path records a verdict the browser never brought back", async () => {
  double.reset();
  const backend = createBackend({ secret: JWT_SECRET, proxyUrl: proxy.url, issuer: BACKEND, audience: AUDIENCE });
  const app = await backend.listen();
  try {
    let cookie = '';
    const post = async (route, body) => {
      const res = await fetch(`${app}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify(body),
      });
      cookie ||= (res.headers.get('set-cookie') ?? '').split(';')[0];
      return { status: res.status, json: await res.json() };
    };
    const session = await post('/kyc/session', { nik: NIK });
    assert.equal(session.status, 201);
    const { token, transactionId } = session.json;
    assert.deepEqual(await post('/kyc/recover', { transactionId }), { status: 404, json: { error: 'not_started' } });
    // The browser sends the selfie, the proxy calls upstream, and the browser dies.
    assert.equal((await proxy.verify({ token, txn: transactionId })).status, 200);
    const recovered = await post('/kyc/recover', { transactionId });
    assert.equal(recovered.status, 200, JSON.stringify(recovered.json));
    assert.equal(recovered.json.outcome, 'match');
    assert.equal(recovered.json.transactionId, transactionId);
    assert.equal(backend.records.get(transactionId).outcome, 'match');
    // Recorded once: the receipt the browser might still bring is not recorded twice.
    const late = await post('/kyc/complete', { transactionId, receipt: backend.records.get(transactionId).receipt });
    assert.equal(late.status, 409);
    assert.equal((await post('/kyc/recover', { transactionId })).status, 200);
    // Another user of the app cannot recover it.
    cookie = '';
    await post('/kyc/session', { nik: NIK });
    assert.equal((await post('/kyc/recover', { transactionId })).status, 404);
    assert.equal(double.requests.length, 1);
  } finally {
    await backend.close();
  }
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
