// The reference verifiers (examples/backend-node/kyc.mjs with jose, examples/verify_receipt.py
// with PyJWT) against receipts from the running Worker: they accept the real ones, and refuse
// every forgery and every receipt that is not for this verification.
//
// Run by `cargo xtask test`, which installs PyJWT and cryptography (pinned, with hashes) into
// target/py-venv and passes its python as RECEIPT_PYTHON.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, importJWK, generateKeyPair, exportJWK, calculateJwkThumbprint, decodeJwt, createRemoteJWKSet } from 'jose';
import {
  startProxy, startDouble, assertNoLeaks, mint, nikHmac, nikWithSerial, noteNik,
  APP_ID, APP_KEY, NIK, OTHER_NIK, AUDIENCE, BACKEND, TXN, RECEIPT_KEY,
} from '../proxy/harness.mjs';
import { verifyReceipt } from '../../examples/backend-node/kyc.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = process.env.RECEIPT_PYTHON;
const SUBJECT = 'customer-42';

let double, proxy, sandbox, jwksUrl, sandboxJwksUrl;
const REFUSAL_TXN = 'txn-refusal';
/** Real receipts: a match, a refusal, and one from the sandbox. */
const real = {};
before(async () => {
  assert.ok(PYTHON, 'RECEIPT_PYTHON is not set: run this suite through `cargo xtask test` (it installs PyJWT)');
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({}, { double });
  sandbox = await startProxy({ SANDBOX: 'true', HV_APP_ID: null, HV_APP_KEY: null }, { double });
  jwksUrl = new URL('/.well-known/jwks.json', proxy.url).href;
  sandboxJwksUrl = new URL('/.well-known/jwks.json', sandbox.url).href;
  // Each on a transaction of its own: the ledger answers a finished one with its first receipt.
  real.match = (await proxy.verify({ txn: TXN })).json.receipt;
  double.behave('face-fail');
  real.refusal = (await proxy.verify({ txn: REFUSAL_TXN, token: await mint({ txn: REFUSAL_TXN, sub: SUBJECT }) })).json.receipt;
  double.reset();
  const nik = nikWithSerial('0001');
  noteNik(nik);
  real.sandbox = (await sandbox.verify({ nik, txn: TXN })).json.receipt;
  real.sandboxNik = nikHmac(nik);
  for (const [k, v] of Object.entries(real)) assert.equal(typeof v, 'string', k);
});
after(async () => {
  await proxy?.dispose();
  await sandbox?.dispose();
  await double?.close();
});

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const parts = (jws) => jws.split('.');
const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** A receipt signed with `jwk` (the proxy's own key by default) over any header and claims. */
async function signed(claims, { jwk = RECEIPT_KEY, header = {} } = {}) {
  const key = typeof jwk === 'string' ? JSON.parse(jwk) : jwk;
  const kid = await calculateJwkThumbprint({ kty: key.kty, crv: key.crv, x: key.x, y: key.y });
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'dukcapil-receipt+jwt', ...header })
    .sign(await importJWK(key, 'ES256'));
}

/** What the verifiers expect of the live proxy's match receipt. */
const facts = () => ({ issuer: AUDIENCE, audience: BACKEND, subject: SUBJECT, txn: TXN, nikHmac: nikHmac(NIK) });

/** [name, receipt, facts, expected code (null: accepted)], built once the receipts exist. */
async function cases() {
  const claims = decodeJwt(real.match);
  const [h, c, s] = parts(real.match);
  const now = Math.floor(Date.now() / 1000);
  const { privateKey: stranger } = await generateKeyPair('ES256', { extractable: true });
  const strangerJwk = await exportJWK(stranger);
  const { d, ...publicJwk } = JSON.parse(RECEIPT_KEY);
  // Key confusion: HS256 keyed with the published public key (as JSON and as its x||y).
  const hsInput = `${b64url({ alg: 'HS256', kid: decode(h).kid, typ: 'dukcapil-receipt+jwt' })}.${c}`;
  const hsWith = (secret) => `${hsInput}.${createHmac('sha256', secret).update(hsInput).digest('base64url')}`;
  return [
    ['a real match', real.match, facts(), null],
    ['a real refusal (FACE_NOT_DETECTED)', real.refusal, { ...facts(), txn: REFUSAL_TXN }, null],
    ['a sandbox receipt where sandbox receipts are allowed', real.sandbox,
      { ...facts(), nikHmac: real.sandboxNik, allowSandbox: true, jwksUrl: sandboxJwksUrl }, null],
    // Tampering.
    ['a tampered payload (no_match → match)', `${h}.${b64url({ ...decodeJwt(real.refusal), outcome: 'match' })}.${s}`, facts(), 'signature'],
    ['a tampered payload (another score)', `${h}.${b64url({ ...claims, score: 99.9 })}.${s}`, facts(), 'signature'],
    ['a tampered header (kid of the same key, typ changed)', `${b64url({ ...decode(h), typ: 'JWT' })}.${c}.${s}`, facts(), 'type'],
    ['a tampered signature', `${h}.${c}.${s.slice(0, -4)}AAAA`, facts(), 'signature'],
    ['alg: none', `${b64url({ alg: 'none', typ: 'dukcapil-receipt+jwt' })}.${c}.`, facts(), 'algorithm'],
    ['HS256 keyed with the public JWK', hsWith(JSON.stringify(publicJwk)), facts(), 'algorithm'],
    ['HS256 keyed with the public key bytes', hsWith(Buffer.concat([Buffer.from(publicJwk.x, 'base64url'), Buffer.from(publicJwk.y, 'base64url')])), facts(), 'algorithm'],
    ['ES384 in the header', `${b64url({ ...decode(h), alg: 'ES384' })}.${c}.${s}`, facts(), 'algorithm'],
    ['garbage', 'not-a-jws', facts(), 'malformed'],
    // A key the proxy does not publish.
    ['an unknown kid (a stranger\'s key)', await signed(claims, { jwk: strangerJwk }), facts(), 'unknown_key'],
    ['a stranger\'s key under the proxy\'s kid', await signed(claims, { jwk: strangerJwk, header: { kid: decode(h).kid } }), facts(), 'signature'],
    // Well signed, but not for this verification.
    ['an expired receipt', await signed({ ...claims, iat: now - 3600, exp: now - 600 }), facts(), 'expired'],
    ['the wrong aud', await signed({ ...claims, aud: 'another-backend' }), facts(), 'audience'],
    ['the wrong iss', await signed({ ...claims, iss: 'another-proxy' }), facts(), 'issuer'],
    ['the wrong sub', await signed({ ...claims, sub: 'someone-else' }), facts(), 'subject'],
    ['the wrong txn', await signed({ ...claims, txn: 'txn-other' }), facts(), 'transaction'],
    ['the wrong nik_hmac', await signed({ ...claims, nik_hmac: nikHmac(OTHER_NIK) }), facts(), 'nik'],
    ['a sandbox receipt in live mode', real.sandbox, { ...facts(), nikHmac: real.sandboxNik, jwksUrl: sandboxJwksUrl }, 'sandbox'],
    ['a live receipt claiming sandbox: false but marked sandbox', await signed({ ...claims, sandbox: true }), facts(), 'sandbox'],
    ['a verdict without its score', await signed({ ...claims, score: undefined }), facts(), 'malformed'],
  ];
}

let table;
const node = async (receipt, f) => {
  try {
    await verifyReceipt(receipt, {
      jwks: createRemoteJWKSet(new URL(f.jwksUrl ?? jwksUrl)),
      issuer: f.issuer, audience: f.audience, subject: f.subject, txn: f.txn, nikHmac: f.nikHmac, allowSandbox: f.allowSandbox,
    });
    return null;
  } catch (e) {
    return e.code ?? String(e);
  }
};

test('the Node verifier (jose) accepts real receipts and refuses every forgery', async () => {
  table = await cases();
  for (const [name, receipt, f, want] of table) assert.equal(await node(receipt, f), want, name);
});

test('the Python verifier (PyJWT) accepts real receipts and refuses every forgery', async () => {
  table ??= await cases();
  const input = table.map(([, receipt, f]) => ({
    receipt, jwks_url: f.jwksUrl ?? jwksUrl, issuer: f.issuer, audience: f.audience, subject: f.subject,
    txn: f.txn, nik_hmac: f.nikHmac, allow_sandbox: f.allowSandbox ?? false,
  }));
  const run = spawnSync(PYTHON, [path.join(ROOT, 'examples/verify_receipt.py'), '--batch'], { input: JSON.stringify(input), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const results = JSON.parse(run.stdout);
  table.forEach(([name, , , want], i) => {
    assert.equal(results[i].ok ? null : results[i].error, want, `${name}: ${results[i].message ?? ''}`);
  });
  // And what it hands back is the receipt's claims.
  assert.equal(results[0].claims.outcome, 'match');
  assert.equal(results[0].claims.score, decodeJwt(real.match).score);
});

test('the Python command line: exit 0 with the claims, 1 with the reason', () => {
  const args = (receipt) => [
    path.join(ROOT, 'examples/verify_receipt.py'), receipt, '--jwks-url', jwksUrl,
    '--audience', BACKEND, '--subject', SUBJECT, '--txn', TXN, '--nik-hmac', nikHmac(NIK),
  ];
  const ok = spawnSync(PYTHON, args(real.match), { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).claims.outcome, 'match');
  const [h, c, s] = parts(real.match);
  const bad = spawnSync(PYTHON, args(`${h}.${c}.${s.slice(0, -4)}AAAA`), { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(JSON.parse(bad.stdout).error, 'signature');
});

test('a token the backend minted comes back as the receipt\'s aud, sub and token_jti', async () => {
  const txn = 'txn-minted';
  const token = await mint({ jti: 'tok-verifier-1', iss: 'bank-backend', sub: 'user-7', txn });
  const res = await proxy.verify({ token, txn });
  const got = await verifyReceipt(res.json.receipt, {
    jwks: createRemoteJWKSet(new URL(jwksUrl)), issuer: AUDIENCE, audience: 'bank-backend', subject: 'user-7',
    txn, nikHmac: nikHmac(NIK), tokenJti: 'tok-verifier-1',
  });
  assert.equal(got.token_jti, 'tok-verifier-1');
  await assert.rejects(
    verifyReceipt(res.json.receipt, {
      jwks: createRemoteJWKSet(new URL(jwksUrl)), issuer: AUDIENCE, audience: 'bank-backend', subject: 'user-7',
      txn, nikHmac: nikHmac(NIK), tokenJti: 'another-token',
    }),
    { code: 'token' },
  );
});

test('no secret, token, full NIK, image data or signing key leaked', () => assertNoLeaks());
