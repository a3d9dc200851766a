// Caller authorisation: the HS256 caller token (aud, jti, txn, nik_hmac), the anonymous
// sandbox, Turnstile, and the configurations that fail closed. Refusals never reach upstream.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startProxy, startDouble, assertError, assertNoLeaks, mint, unsignedToken, rsaToken, sha256hex, nikHmac,
  APP_ID, APP_KEY, NIK, OTHER_NIK, JWT_SECRET, TURNSTILE_SECRET, AUDIENCE, TXN,
} from './harness.mjs';
import { leakMatcher } from './leaks.mjs';

let double, proxy;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({}, { double });
});
after(async () => {
  await proxy?.dispose();
  await double?.close();
});

const now = () => Math.floor(Date.now() / 1000);

const refused = [
  ['no Authorization header', async () => null, null],
  ['expired an hour ago', () => mint({ iatOffset: -3700, ttl: 600 }), 'token_expired'],
  ['expired beyond the 30 s leeway', () => mint({ iatOffset: -400, ttl: 360 }), 'token_expired'],
  ['issued in the future', () => mint({ iatOffset: 120 }), 'token_not_yet_valid'],
  ['lifetime over 15 minutes', () => mint({ ttl: 901 }), 'token_lifetime'],
  ['wrong signature', () => mint({ secret: 'fake-some-other-secret' }), 'token_signature'],
  ['alg none', async () => unsignedToken({ aud: AUDIENCE, jti: 'j', txn: TXN, iat: now(), exp: now() + 60, nik_hmac: nikHmac(NIK) }), 'token_algorithm'],
  ['alg HS512 with the right secret', () => mint({ alg: 'HS512' }), 'token_algorithm'],
  ['alg HS384 with the right secret', () => mint({ alg: 'HS384' }), 'token_algorithm'],
  ['alg RS256', () => rsaToken({ aud: AUDIENCE, jti: 'j', txn: TXN, nik_hmac: nikHmac(NIK) }), 'token_algorithm'],
  ['bound to another NIK', () => mint({ nik: OTHER_NIK }), 'token_nik_mismatch'],
  ['bound to another transactionId', () => mint({ txn: 'txn-other' }), 'token_txn_mismatch'],
  ['no aud', () => mint({ aud: null }), 'token_audience'],
  ['another aud', () => mint({ aud: 'some-other-service' }), 'token_audience'],
  ['no jti', () => mint({ jti: null }), 'token_incomplete'],
  ['no txn', () => mint({ txn: null }), 'token_incomplete'],
  ['not bound to a NIK', () => mint({ nik: null }), 'token_nik_unbound'],
  ['bound the 0.1 way (nik_sha256)', () => mint({ nik: null, claims: { nik_sha256: sha256hex(NIK) } }), 'token_nik_unbound'],
  ['nik_hmac under another secret', () => mint({ nik: null, claims: { nik_hmac: nikHmac(NIK, 'fake-some-other-secret-0123456789abc') } }), 'token_nik_mismatch'],
  ['nik_hmac as hex SHA-256', () => mint({ nik: null, claims: { nik_hmac: sha256hex(NIK) } }), 'token_nik_mismatch'],
  ['no exp', () => hs256Raw({ iat: now() }), 'token_malformed'],
  ['no iat', () => hs256Raw({ exp: now() + 60 }), 'token_malformed'],
  ['exp as a string', () => hs256Raw({ iat: now(), exp: String(now() + 60) }), 'token_malformed'],
  ['garbage', async () => 'not.a.jwt', 'token_malformed'],
  ['a crit header, even null', () => hs256Raw({ iat: now(), exp: now() + 60 }, { alg: 'HS256', crit: null }), 'token_algorithm'],
  ['a header that is an array', () => hs256Raw({ iat: now(), exp: now() + 60 }, ['HS256']), 'token_malformed'],
  ['claims that are an array', () => hs256Raw([null, null, null, now() + 60, now()]), 'token_malformed'],
  ['a duplicate claim', async () => hs256Text(`{"iat":${now()},"exp":${now() + 60},"exp":${now() + 600}}`), 'token_malformed'],
];

// A token signed correctly over arbitrary claims and header (jose always writes valid ones).
async function hs256Raw(claims, header = { alg: 'HS256', typ: 'JWT' }) {
  return hs256Text(JSON.stringify(claims), JSON.stringify(header));
}

async function hs256Text(claims, header = '{"alg":"HS256","typ":"JWT"}') {
  const { createHmac } = await import('node:crypto');
  const b64 = (text) => Buffer.from(text).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

for (const [name, make, reason] of refused) {
  test(`401 for a token: ${name}`, async () => {
    double.reset();
    const token = await make();
    const res = await proxy.verify({ token });
    assertError(res, 401, 'UNAUTHORIZED');
    assert.match(res.headers['www-authenticate'], /^Bearer realm="dukcapil-proxy"/);
    if (reason) assert.match(res.headers['www-authenticate'], /error="invalid_token"/);
    assert.equal(double.requests.length, 0);
    const log = await proxy.logFor(res.headers['x-request-id']);
    assert.equal(log.reason, reason ?? 'token_missing');
  });
}

test('a Basic or empty Authorization header is refused', async () => {
  for (const value of ['Basic Zm9vOmJhcg==', 'Bearer', 'Bearer ']) {
    const res = await proxy.verify({ token: null, headers: { authorization: value } });
    assertError(res, 401, 'UNAUTHORIZED');
  }
  assert.equal(double.requests.length, 0);
});

test('a valid token: bound NIK and txn, aud in an array, no sub or iss, leeway, 15 min lifetime', async () => {
  // Each on a transaction of its own (the ledger answers a finished one without a call).
  const ok = [
    ['txn-ok-1', await mint({ txn: 'txn-ok-1' })],
    ['txn-ok-2', await mint({ txn: 'txn-ok-2', iatOffset: -320, ttl: 300 })], // expired 20 s ago, within leeway
    ['txn-ok-3', await mint({ txn: 'txn-ok-3', ttl: 900 })],
    ['txn-ok-4', await mint({ txn: 'txn-ok-4', sub: null, iss: null })],
    [TXN, await hs256Raw({ aud: ['another-service', AUDIENCE], jti: 'j-raw', txn: TXN, iat: now(), exp: now() + 60, nik_hmac: nikHmac(NIK) })],
  ];
  for (const [txn, token] of ok) {
    double.reset();
    const res = await proxy.verify({ token, txn });
    assert.equal(res.status, 200, res.text);
    assert.equal(double.requests.length, 1);
  }
});

test('TOKEN_AUDIENCE names the audience', async () => {
  const p = await startProxy({ TOKEN_AUDIENCE: 'kyc-proxy.example' }, { double });
  try {
    assertError(await p.verify({}), 401, 'UNAUTHORIZED');
    const res = await p.verify({ token: await mint({ aud: 'kyc-proxy.example' }) });
    assert.equal(res.status, 200, res.text);
  } finally {
    await p.dispose();
  }
});

test('REQUIRE_NIK_BINDING=false lets unbound tokens through, with a warning on every line', async () => {
  const p = await startProxy({ REQUIRE_NIK_BINDING: 'false' }, { double });
  try {
    const res = await p.verify({ token: await mint({ nik: null }) });
    assert.equal(res.status, 200, res.text);
    const log = await p.logFor(res.headers['x-request-id']);
    assert.ok(log.warnings.includes('nik_binding_off'));
    assert.equal(log.level, 'warn');
    // A binding that is there is still checked.
    assertError(await p.verify({ token: await mint({ nik: OTHER_NIK }) }), 401, 'UNAUTHORIZED');
  } finally {
    await p.dispose();
  }
});

test('configurations that fail closed: short secret, anonymous outside the sandbox, a sandbox with live keys', async () => {
  const cases = [
    [{ PROXY_JWT_SECRET: 'x'.repeat(31) }, 'jwt_secret_short'],
    [{ ALLOW_ANONYMOUS: 'true' }, 'anonymous_outside_sandbox'],
    [{ SANDBOX: 'true' }, 'sandbox_with_live_credentials'],
    [{ SANDBOX: 'true', HV_APP_ID: null }, 'sandbox_with_live_credentials'],
    [{ RECEIPT_SIGNING_KEY: null }, 'receipt_key_missing'],
    [{ RECEIPT_SIGNING_KEY: '{"kty":"EC","crv":"P-256"}' }, 'receipt_key_invalid'],
  ];
  for (const [vars, reason] of cases) {
    double.reset();
    const p = await startProxy(vars, { double });
    try {
      const res = await p.verify({ token: null });
      assertError(res, 500, 'PROXY_MISCONFIGURED');
      assert.equal((await p.logFor(res.headers['x-request-id'])).reason, reason);
      assert.equal((await p.fetch('/healthz')).json.ready, false);
      assert.equal(double.requests.length, 0);
    } finally {
      await p.dispose();
    }
  }
  // Exactly 32 bytes is enough.
  const p = await startProxy({ PROXY_JWT_SECRET: JWT_SECRET.slice(0, 32) }, { double });
  try {
    assert.equal((await p.verify({ token: await mint({ secret: JWT_SECRET.slice(0, 32) }) })).status, 200);
  } finally {
    await p.dispose();
  }
});

/** An anonymous sandbox, as the deployed demo is. */
const ANONYMOUS_SANDBOX = { SANDBOX: 'true', ALLOW_ANONYMOUS: 'true', HV_APP_ID: null, HV_APP_KEY: null };

test('ALLOW_ANONYMOUS=true in the sandbox: no token passes with a warning, a bad token still fails', async () => {
  const anon = await startProxy({ ...ANONYMOUS_SANDBOX, PROXY_JWT_SECRET: null }, { double });
  try {
    double.reset();
    let res = await anon.verify({ token: null });
    assert.equal(res.status, 200, res.text);
    const log = await anon.logFor(res.headers['x-request-id']);
    assert.equal(log.auth, 'anonymous');
    assert.equal(log.level, 'warn');
    assert.ok(log.warnings.includes('anonymous_call'));
    // A token with no secret to check it against is refused, not ignored.
    assertError(await anon.verify({ token: await mint() }), 401, 'UNAUTHORIZED');
  } finally {
    await anon.dispose();
  }
  const both = await startProxy(ANONYMOUS_SANDBOX, { double });
  try {
    assertError(await both.verify({ token: await mint({ nik: OTHER_NIK }) }), 401, 'UNAUTHORIZED');
    assert.equal((await both.verify({ token: null })).status, 200);
  } finally {
    await both.dispose();
  }
});

test('anonymous needs exactly "true"; with no JWT secret either, the proxy fails closed', async () => {
  for (const flag of ['TRUE', '1', 'yes', null]) {
    const p = await startProxy({ ...ANONYMOUS_SANDBOX, ALLOW_ANONYMOUS: flag, PROXY_JWT_SECRET: null }, { double });
    try {
      double.reset();
      assertError(await p.verify({ token: null }), 500, 'PROXY_MISCONFIGURED');
      assert.equal((await p.fetch('/healthz')).json.ready, false);
      assert.equal(double.requests.length, 0);
    } finally {
      await p.dispose();
    }
  }
});

test('Turnstile: verified server-side when TURNSTILE_SECRET is set', async () => {
  const seen = [];
  let verdict = true;
  let hostname = 'kyc.example.co.id';
  const siteverify = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ path: req.url, type: req.headers['content-type'], form: Object.fromEntries(new URLSearchParams(body)) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: verdict, 'error-codes': verdict ? [] : ['invalid-input-response'], hostname, action: 'kyc' }));
    });
  });
  await new Promise((r) => siteverify.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${siteverify.address().port}/siteverify`;
  const p = await startProxy({ TURNSTILE_SECRET, TURNSTILE_VERIFY_URL: url }, { double });
  try {
    double.reset();
    // Missing token: refused without calling anyone.
    assertError(await p.verify({}), 401, 'UNAUTHORIZED');
    assert.equal(seen.length, 0);
    // Rejected token.
    verdict = false;
    assertError(await p.verify({ headers: { 'cf-turnstile-response': 'XXXX.fake-turnstile-token' } }), 401, 'UNAUTHORIZED');
    assert.equal(double.requests.length, 0);
    // Accepted token.
    verdict = true;
    const res = await p.verify({ headers: { 'cf-turnstile-response': 'XXXX.fake-turnstile-token', 'cf-connecting-ip': '203.0.113.5' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(double.requests.length, 1);
    const last = seen.at(-1);
    assert.equal(last.type, 'application/x-www-form-urlencoded');
    assert.equal(last.form.secret, TURNSTILE_SECRET);
    assert.equal(last.form.response, 'XXXX.fake-turnstile-token');
    assert.equal(last.form.remoteip, '203.0.113.5');
    // Invalid requests do not burn a Turnstile check.
    const before = seen.length;
    assertError(await p.verify({ nik: '123', headers: { 'cf-turnstile-response': 'XXXX' } }), 400, 'NIK_LENGTH');
    assert.equal(seen.length, before);
    // A token solved on another site's page.
    hostname = 'evil.example';
    let refused = await p.verify({ headers: { 'cf-turnstile-response': 'XXXX.fake-turnstile-token' } });
    assertError(refused, 401, 'UNAUTHORIZED');
    assert.equal((await p.logFor(refused.headers['x-request-id'])).reason, 'turnstile_hostname');
    hostname = 'kyc.example.co.id';
    // TURNSTILE_ACTION: solved for another action.
    const withAction = await startProxy({ TURNSTILE_SECRET, TURNSTILE_VERIFY_URL: url, TURNSTILE_ACTION: 'login' }, { double });
    try {
      refused = await withAction.verify({ headers: { 'cf-turnstile-response': 'XXXX.fake-turnstile-token' } });
      assertError(refused, 401, 'UNAUTHORIZED');
      assert.equal((await withAction.logFor(refused.headers['x-request-id'])).reason, 'turnstile_action');
    } finally {
      await withAction.dispose();
    }
  } finally {
    await p.dispose();
    await new Promise((r) => siteverify.close(r));
  }
});

test('Turnstile unreachable → 502 UPSTREAM_ERROR, and nothing forwarded', async () => {
  // A port nothing listens on: the connection is refused.
  const closed = http.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${closed.address().port}/siteverify`;
  await new Promise((r) => closed.close(r));
  const p = await startProxy({ TURNSTILE_SECRET, TURNSTILE_VERIFY_URL: url }, { double });
  try {
    double.reset();
    const res = await p.verify({ headers: { 'cf-turnstile-response': 'XXXX.fake-turnstile-token' } });
    assertError(res, 502, 'UPSTREAM_ERROR');
    assert.equal(double.requests.length, 0, 'an unverified caller was forwarded');
    const log = await p.logFor(res.headers['x-request-id']);
    assert.equal(log.reason, 'turnstile_unreachable');
  } finally {
    await p.dispose();
  }
});

test('a NIK in a caller-chosen transactionId is masked in the log', async () => {
  // Not one of the NIKs the leak scan knows, nor sharing 12 digits with one: the caller gets
  // its own id back, as it should, and it goes upstream as the transactionId.
  const nik = '3171024508855555';
  const txn = `kyc-${nik}`;
  const res = await proxy.verify({ nik, txn, token: await mint({ nik, txn }) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.transactionid, txn);
  const log = await proxy.logFor(res.headers['x-request-id']);
  assert.equal(log.transaction_id, 'kyc-3171**********55');
  assert.equal(leakMatcher([['the NIK', nik]]).find(JSON.stringify(log)), null);
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
