// Receipts from the running Worker: which answers carry one (and which never do), what it
// says, that it verifies with jose against the Worker's own JWKS, and key rotation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, calculateJwkThumbprint } from 'jose';
import {
  startProxy, startDouble, assertError, assertNoLeaks, mint, nikHmac, receiptKey, nikWithSerial, noteNik,
  APP_ID, APP_KEY, NIK, AUDIENCE, BACKEND, TXN, RECEIPT_KEY,
} from './harness.mjs';

let double, proxy;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({ UPSTREAM_TIMEOUT_MS: '500' }, { double });
});
after(async () => {
  await proxy?.dispose();
  await double?.close();
});

const jwksOf = (p) => createRemoteJWKSet(new URL('/.well-known/jwks.json', p.url));

/** Verifies a receipt as a backend does, for the harness's caller token. */
async function verified(p, receipt, options = {}) {
  const { payload, protectedHeader } = await jwtVerify(receipt, jwksOf(p), {
    algorithms: ['ES256'],
    issuer: AUDIENCE,
    audience: BACKEND,
    subject: 'customer-42',
    typ: 'dukcapil-receipt+jwt',
    ...options,
  });
  return { payload, protectedHeader };
}

// [double behaviour, HTTP status, error code or null, the receipt's outcome or null (no receipt)]
const OUTCOMES = [
  ['match', 200, null, 'match'],
  ['nomatch', 200, null, 'no_match'],
  ['face-fail', 422, 'FACE_NOT_DETECTED', 'FACE_NOT_DETECTED'],
  ['nik-invalid', 422, 'NIK_INVALID', 'NIK_INVALID'],
  ['multiple-faces', 422, 'MULTIPLE_FACES', 'MULTIPLE_FACES'],
  ['too-large', 413, 'IMAGE_TOO_LARGE', 'IMAGE_TOO_LARGE'],
  ['image-type', 415, 'IMAGE_TYPE', 'IMAGE_TYPE'],
  ['unknown-refusal', 422, 'UPSTREAM_REJECTED', 'UPSTREAM_REJECTED'],
  ['unknown-4xx', 422, 'UPSTREAM_REJECTED', 'UPSTREAM_REJECTED'],
  ['busy', 503, 'UPSTREAM_BUSY', null],
  ['rate-limited', 429, 'UPSTREAM_RATE_LIMITED', null],
  ['server-error', 502, 'UPSTREAM_ERROR', null],
  ['token-expired', 502, 'PROXY_UPSTREAM_CREDENTIALS', null],
  ['garbage', 502, 'UPSTREAM_ERROR', null],
  ['huge', 502, 'UPSTREAM_ERROR', null],
  ['hang', 504, 'UPSTREAM_TIMEOUT', null],
  ['reset', 502, 'UPSTREAM_ERROR', null],
];

for (const [behaviour, status, code, outcome] of OUTCOMES) {
  test(`${behaviour}: ${status} ${code ?? ''} ${outcome ? 'with a receipt' : 'and no receipt'}`, async () => {
    double.reset();
    double.behave(behaviour);
    const txn = `rc-${behaviour}`;
    const res = await proxy.verify({ txn });
    if (code) assertError(res, status, code);
    else assert.equal(res.status, 200, res.text);
    if (!outcome) {
      assert.equal(res.json.receipt, undefined);
      assert.equal((await proxy.logFor(res.headers['x-request-id'])).receipt_id, undefined);
      return;
    }
    const { payload, protectedHeader } = await verified(proxy, res.json.receipt);
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(protectedHeader.kid, await calculateJwkThumbprint(JSON.parse(RECEIPT_KEY)));
    assert.equal(payload.outcome, outcome);
    assert.equal(payload.txn, txn);
    assert.equal(payload.nik_hmac, nikHmac(NIK));
    assert.equal(payload.request_id, res.headers['x-request-id']);
    assert.equal(payload.sandbox, false);
    assert.equal(typeof payload.token_jti, 'string');
    assert.equal(payload.exp - payload.iat, 900);
    assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60);
    if (outcome === 'match' || outcome === 'no_match') {
      assert.equal(payload.match, res.json.result.details.match);
      assert.equal(payload.score, res.json.result.details.score);
      assert.equal(payload.hv_request_id, 'hv-req-0001');
    } else {
      assert.equal(payload.match, undefined);
      assert.equal(payload.score, undefined);
    }
    const log = await proxy.logFor(res.headers['x-request-id']);
    assert.equal(log.receipt_id, payload.jti);
  });
}

test('refusals before the upstream never carry a receipt', async () => {
  double.reset();
  const answers = [
    await proxy.verify({ nik: '3273010101900000' }),
    await proxy.verify({ token: null }),
    await proxy.verify({ token: await mint({ txn: 'other' }) }),
    await proxy.verify({ image: 'R0lGODlhAQABAAAAACw=' }),
    await proxy.verify({ txn: 'bad txn' }),
    await proxy.fetch('/v1/dukcapilWithFacematch', { method: 'GET' }),
    await proxy.fetch('/healthz'),
  ];
  for (const res of answers) {
    assert.ok(res.status >= 200, res.text);
    assert.equal(res.json?.receipt, undefined, res.text);
  }
  assert.equal(double.requests.length, 0);
});

test('every receipt is unique, and names the token it answers', async () => {
  double.reset();
  const jtis = new Set();
  for (let i = 0; i < 3; i++) {
    // Each on a transaction of its own: a finished one is replayed with its first receipt.
    const token = await mint({ jti: `tok-${i}`, txn: `unique-${i}` });
    const res = await proxy.verify({ token, txn: `unique-${i}` });
    const { payload } = await verified(proxy, res.json.receipt);
    assert.equal(payload.token_jti, `tok-${i}`);
    jtis.add(payload.jti);
  }
  assert.equal(jtis.size, 3);
  // A token without `iss` or `sub`: no `aud` or `sub` in the receipt.
  const res = await proxy.verify({ token: await mint({ iss: null, sub: null, txn: 'unique-anon' }), txn: 'unique-anon' });
  const { payload } = await jwtVerify(res.json.receipt, jwksOf(proxy), { algorithms: ['ES256'] });
  assert.equal(payload.aud, undefined);
  assert.equal(payload.sub, undefined);
});

test('the JWKS: public keys only, cacheable, open to any origin', async () => {
  const res = await proxy.fetch('/.well-known/jwks.json', { headers: { origin: 'https://anyone.example' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.equal(res.headers['cache-control'], 'public, max-age=300');
  assert.equal(res.headers['content-type'], 'application/jwk-set+json');
  const { keys } = res.json;
  assert.equal(keys.length, 1);
  const { d, ...pub } = JSON.parse(RECEIPT_KEY);
  assert.deepEqual({ kty: keys[0].kty, crv: keys[0].crv, x: keys[0].x, y: keys[0].y }, pub);
  assert.ok(!res.text.includes(d));
  assert.deepEqual([keys[0].alg, keys[0].use], ['ES256', 'sig']);
  assert.equal(keys[0].kid, await calculateJwkThumbprint(pub));
  assertError(await proxy.fetch('/.well-known/jwks.json', { method: 'POST', body: '{}' }), 405, 'METHOD_NOT_ALLOWED');
  assert.equal((await proxy.fetch('/.well-known/jwks.json', { method: 'HEAD' })).status, 200);
});

test('key rotation: a receipt signed with the previous key verifies while that key is published', async () => {
  double.reset();
  const old = await startProxy({}, { double });
  const next = await receiptKey();
  const rotated = await startProxy({ RECEIPT_SIGNING_KEY: next, RECEIPT_SIGNING_KEY_PREVIOUS: RECEIPT_KEY }, { double });
  const retired = await startProxy({ RECEIPT_SIGNING_KEY: next }, { double });
  try {
    const before = (await old.verify({})).json.receipt;
    const after = (await rotated.verify({})).json.receipt;
    assert.notEqual(decodeProtectedHeader(before).kid, decodeProtectedHeader(after).kid);
    const jwks = (await rotated.fetch('/.well-known/jwks.json')).json.keys.map((k) => k.kid);
    assert.deepEqual(jwks, [decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid]);
    // Both verify against the rotated Worker's JWKS…
    await verified(rotated, before);
    await verified(rotated, after);
    // …and once the old key is no longer published, its receipts no longer verify.
    await assert.rejects(verified(retired, before), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await verified(retired, after);
  } finally {
    await Promise.all([old.dispose(), rotated.dispose(), retired.dispose()]);
  }
});

test('the sandbox vouches too, always saying so; without a key it signs with its own', async () => {
  const sandbox = { SANDBOX: 'true', HV_APP_ID: null, HV_APP_KEY: null, RECEIPT_SIGNING_KEY: null };
  const p = await startProxy(sandbox, { double });
  try {
    for (const [serial, outcome] of [['0001', 'match'], ['0002', 'no_match'], ['0003', 'FACE_NOT_DETECTED'], ['0007', null]]) {
      const nik = nikWithSerial(serial);
      noteNik(nik);
      const res = await p.verify({ nik });
      assert.equal(res.json.sandbox, true);
      if (!outcome) {
        assert.equal(res.json.receipt, undefined);
        continue;
      }
      const { payload } = await verified(p, res.json.receipt);
      assert.equal(payload.sandbox, true);
      assert.equal(payload.outcome, outcome);
    }
    const log = await p.logFor((await p.verify({ nik: nikWithSerial('0001') })).headers['x-request-id']);
    assert.ok(log.warnings.includes('receipt_key_ephemeral'));
  } finally {
    await p.dispose();
  }
});

test('RECEIPT_ISSUER and RECEIPT_TTL_SECONDS', async () => {
  const p = await startProxy({ RECEIPT_ISSUER: 'https://verify.example.co.id', RECEIPT_TTL_SECONDS: '120' }, { double });
  try {
    double.reset();
    const res = await p.verify({ txn: TXN });
    const { payload } = await verified(p, res.json.receipt, { issuer: 'https://verify.example.co.id' });
    assert.equal(payload.exp - payload.iat, 120);
    assert.equal(payload.txn, TXN);
  } finally {
    await p.dispose();
  }
});

test('no secret, token, full NIK, image data or signing key leaked, in receipts either', () => assertNoLeaks());
