// The onboarding page end to end, as `cargo xtask demo` runs it: headless Chromium with a
// fake camera → the page, served by the reference backend (examples/backend-node) → a caller
// token from the backend → the Worker under wrangler dev → the HyperVerge contract double on
// loopback → the signed receipt → the backend, which verifies it against the Worker's JWKS
// and records the outcome. The page shows what the backend recorded.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  APP_ID, APP_KEY, JWT_SECRET, RECEIPT_KEY, FIXTURES, SCREENSHOTS, ROOT,
  startDouble, startWrangler, startBackend, freePort, launch, fakeCamera, mint, screenshot,
} from './harness.mjs';
import { assertNoLeak } from '../proxy/leaks.mjs';

const MAX_IMAGE_BYTES = 2_000_000;
// Each test verifies its own person (a Kota Bandung man born 1 January 1990, serial 1200 on):
// the proxy's per-NIK budget is 5 a minute, as deployed.
let serial = 1200;
const usedNiks = [];
let NIK;

let double;
let proxy;
let backend;
let camera;
/** Every request any page made, with its headers: none may carry the credentials. */
const pageRequests = [];
/** Every answer of the API the pages got (status, headers, body), for the leak scan. */
const apiAnswers = [];
/** Every wrangler dev started, for the leak scan of what the Worker printed. */
const wranglers = [];

before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  // The app (page and backend) and the proxy on two origins, as in production.
  const appPort = await freePort();
  proxy = await startE2eWrangler(() => ({
    HV_BASE_URL: double.url,
    HV_APP_ID: APP_ID,
    HV_APP_KEY: APP_KEY,
    PROXY_JWT_SECRET: JWT_SECRET,
    RECEIPT_SIGNING_KEY: RECEIPT_KEY,
    ALLOW_ANONYMOUS: 'false',
    ALLOWED_ORIGINS: `http://127.0.0.1:${appPort}`,
    UPSTREAM_TIMEOUT_MS: '2000',
    SANDBOX: 'false',
  }));
  backend = await startBackend({ port: appPort, proxyUrl: proxy.url });
  const y4m = await fakeCamera();
  camera = await launch([
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${y4m}`,
  ]);
  console.log(`# screenshots: ${SCREENSHOTS}`);
});

after(async () => {
  await camera?.close();
  await backend?.close();
  await proxy?.stop();
  // Fails here if the Worker broke the HyperVerge contract in a way no test declared.
  await double?.close?.();
  // Nothing the Worker printed or answered, and nothing it sent upstream besides appId and
  // appKey in their own headers, may hold a secret, the receipt signing key or a full NIK, in
  // any encoding or in part.
  const { d } = JSON.parse(RECEIPT_KEY);
  const needles = [
    ['appId', APP_ID], ['appKey', APP_KEY], ['PROXY_JWT_SECRET', JWT_SECRET], ['the receipt signing key', d],
    ...usedNiks.map((n) => ['full NIK', n]),
  ];
  assertNoLeak(needles, wranglers.map((w) => w.logs.join('')), 'the output of wrangler dev and the Worker');
  assertNoLeak(needles, apiAnswers, 'an answer of the API');
  assertNoLeak(needles, (double?.traffic ?? []).map(({ path, headers: { appid, appkey, ...rest } }) => JSON.stringify({ path, rest })), 'an upstream request');
});

/** wrangler dev, remembered for the leak scan. */
async function startE2eWrangler(varsFor) {
  const w = await startWrangler(varsFor);
  wranglers.push(w);
  return w;
}

beforeEach(() => {
  // Each test sees only what it recorded, whatever the one before it left.
  backend.records.clear();
  double.behave('match');
  double.requests.length = 0;
  NIK = `327301010190${serial++}`;
  usedNiks.push(NIK);
});

async function openPage(context = camera.context, url = backend.url) {
  // A new visitor each time: the backend's stub login hands out a user per cookie.
  await context.clearCookies();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('request', (r) => pageRequests.push({ url: r.url(), headers: r.headers(), body: r.postData() ?? '' }));
  page.on('response', async (r) => {
    if (!/\/(v1|healthz)/.test(new URL(r.url()).pathname)) return;
    apiAnswers.push(`${r.status()}\n${JSON.stringify(r.headers())}\n${await r.text().catch(() => '')}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

async function takePhoto(page) {
  await page.click('#start-camera');
  await page.waitForSelector('#capture:not([hidden])');
  await page.waitForFunction(() => document.getElementById('video').readyState >= 2);
  await page.click('#capture');
  await page.waitForSelector('#still:not([hidden])');
  await page.waitForFunction(() => /\d+×\d+/.test(document.getElementById('camera-status').textContent));
}

async function fillForm(page, nik) {
  nik ??= NIK;
  await page.fill('#nik', nik);
  await takePhoto(page);
  await page.check('#consent');
}

const resultText = (page) => page.textContent('#result-text');

async function submitAndWait(page) {
  assert.equal(await page.isDisabled('#submit'), false, 'submit is enabled once the form is valid');
  await page.click('#submit');
  await page.waitForSelector('#result:not([hidden])');
  await page.waitForFunction(() => !document.querySelector('form').hasAttribute('aria-busy'));
}

/** The one outcome the backend recorded in this test, after verifying its receipt. */
function recorded() {
  const all = [...backend.records.values()];
  backend.records.clear();
  assert.equal(all.length, 1, 'the backend recorded exactly one outcome');
  return all[0];
}

/** What the double received: one request with the right NIK, a JPEG ≤ 2 MB and our headers. */
function assertForwarded(nik) {
  nik ??= NIK;
  assert.equal(double.requests.length, 1, 'exactly one upstream call');
  const [req] = double.requests;
  assert.deepEqual(req.violations, []);
  assert.equal(req.body.id, nik);
  const jpeg = Buffer.from(req.body.image, 'base64');
  assert.ok(jpeg.length <= MAX_IMAGE_BYTES, `image ${jpeg.length} bytes`);
  assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
  assert.equal(req.headers.appid, APP_ID);
  assert.equal(req.headers.appkey, APP_KEY);
  assert.match(req.headers.transactionid, /^[A-Za-z0-9._:-]{1,128}$/);
}

test('happy path: NIK, camera selfie, consent, match', async () => {
  const page = await openPage();
  assert.equal(await page.isDisabled('#submit'), true, 'submit starts disabled');
  await page.fill('#nik', NIK);
  assert.match(await page.textContent('#nik-status'), /Kota Bandung, Jawa Barat · lahir 1 Januari 1990 · laki-laki/);
  await takePhoto(page);
  assert.equal(await page.isDisabled('#submit'), true, 'still disabled without consent');
  await page.check('#consent');
  await screenshot(page, '1-ready');
  // The camera is off once the photo is taken.
  assert.equal(await page.evaluate(() => document.getElementById('video').srcObject), null);
  await submitAndWait(page);
  assert.match(await resultText(page), /^Cocok\. .*skor 87,5/);
  assert.match(await page.textContent('#result-note'), /diperiksa dan hasilnya dicatat oleh server/);
  assert.equal(await page.isHidden('#retry'), true);
  await screenshot(page, '2-match');
  assertForwarded();
  // The backend recorded it from the receipt, for this user, NIK and transaction.
  const r = recorded();
  assert.deepEqual([r.outcome, r.match, r.score, r.sandbox], ['match', true, 87.5, false]);
  assert.match(r.userId, /^demo-/);
  assert.equal(double.requests[0].headers.transactionid, r.transactionId);
  // And the same receipt verifies in Python (PyJWT) against the Worker's JWKS.
  const python = process.env.RECEIPT_PYTHON;
  assert.ok(python, 'RECEIPT_PYTHON is not set: run the suite through `cargo xtask test`');
  const check = spawnSync(python, [
    path.join(ROOT, 'examples/verify_receipt.py'), r.receipt, '--jwks-url', `${proxy.url}/.well-known/jwks.json`,
    '--audience', 'example-backend', '--subject', r.userId, '--txn', r.transactionId,
  ], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(JSON.parse(check.stdout).claims.outcome, 'match');
  await page.close();
});

test('a non-match is said plainly', async () => {
  double.behave('nomatch');
  const page = await openPage();
  await fillForm(page);
  await submitAndWait(page);
  assert.match(await resultText(page), /^Tidak cocok\. .*skor 12/);
  await screenshot(page, '3-nomatch');
  assertForwarded();
  assert.deepEqual([recorded().outcome, false], ['no_match', false]);
  await page.close();
});

test('no face detected asks for another photo', async () => {
  double.behave('face-fail');
  const page = await openPage();
  await fillForm(page);
  await submitAndWait(page);
  assert.match(await resultText(page), /Wajah tidak terdeteksi/);
  assert.equal(await page.isHidden('#retry'), true, 'retrying the same photo cannot help');
  // A definitive refusal is vouched for and recorded like a verdict.
  assert.match(await page.textContent('#result-note'), /dicatat oleh server/);
  const r = recorded();
  assert.deepEqual([r.outcome, r.match], ['FACE_NOT_DETECTED', null]);
  await screenshot(page, '4-no-face');
  await page.close();
});

test('a NIK typed with spaces is normalised', async () => {
  const page = await openPage();
  await fillForm(page, `  ${NIK.slice(0, 4)} ${NIK.slice(4, 8)} ${NIK.slice(8, 12)} ${NIK.slice(12)} `);
  await submitAndWait(page);
  assert.match(await resultText(page), /^Cocok/);
  assertForwarded(NIK);
  recorded();
  await page.close();
});

test('an invalid NIK keeps submit disabled and names the problem', async () => {
  const page = await openPage();
  await fillForm(page, '5473010101901234');
  assert.match(await page.textContent('#nik-status'), /Kode provinsi 54/);
  assert.equal(await page.getAttribute('#nik', 'aria-invalid'), 'true');
  assert.equal(await page.isDisabled('#submit'), true);
  await page.fill('#nik', '3273010101900000');
  assert.match(await page.textContent('#nik-status'), /0000/);
  assert.equal(await page.isDisabled('#submit'), true);
  await screenshot(page, '5-invalid-nik');
  assert.equal(double.requests.length, 0);
  await page.close();
});

test('a photo file can be chosen beside the camera, without turning it on', async () => {
  const page = await openPage();
  await page.fill('#nik', NIK);
  assert.equal(await page.isVisible('label[for="file"]'), true, 'the file choice is offered from the start');
  await page.setInputFiles('#file', path.join(FIXTURES, 'photo_12mp.jpg'));
  await page.waitForFunction(() => /1280×960/.test(document.getElementById('camera-status').textContent));
  assert.equal(await page.evaluate(() => document.getElementById('video').srcObject), null, 'the camera stays off');
  await page.check('#consent');
  await submitAndWait(page);
  assert.match(await resultText(page), /^Cocok/);
  assertForwarded();
  assert.equal(recorded().outcome, 'match');
  await page.close();
});

test('live guidance from the camera, and a refused photo keeps the camera on', async () => {
  const page = await openPage();
  await page.click('#start-camera');
  await page.waitForSelector('#capture:not([hidden])');
  // The fake camera's face is well lit and sharp.
  await page.waitForFunction(() => /Cahaya dan ketajaman baik/.test(document.getElementById('guidance').textContent));
  await page.fill('#nik', NIK);
  await screenshot(page, '0-guidance');
  await page.close();

  // A site that asks for more sharpness than the camera gives: guidance says so, and so does
  // the refusal, and the camera stays on for another try.
  const strict = await openPage();
  await strict.route('**/config.json', (route) =>
    route.fulfill({ json: { endpoint: '', tokenUrl: null, timeoutMs: 10000, checks: { minSharpness: 0.99 } } }));
  await strict.reload();
  await strict.waitForSelector('body[data-ready="true"]');
  await strict.click('#start-camera');
  await strict.waitForSelector('#capture:not([hidden])');
  await strict.waitForFunction(() => /Foto buram/.test(document.getElementById('guidance').textContent));
  await strict.waitForFunction(() => document.getElementById('video').readyState >= 2);
  await strict.click('#capture');
  await strict.waitForFunction(() => /Foto buram/.test(document.getElementById('camera-status').textContent));
  assert.notEqual(await strict.evaluate(() => document.getElementById('video').srcObject), null, 'the camera is still on');
  assert.equal(await strict.isVisible('#capture'), true);
  assert.equal(await strict.isDisabled('#submit'), true);
  await screenshot(strict, '11-refused-blurry');
  assert.equal(double.requests.length, 0);
  await strict.close();
});

test('a browser without WebAssembly SIMD, or a module that fails to load, is told so', async () => {
  const page = await camera.context.newPage();
  await page.addInitScript(() => { WebAssembly.validate = () => false; });
  await page.goto(proxy.url);
  await page.waitForSelector('body[data-ready="unsupported"]');
  assert.match(await page.textContent('#unsupported'), /WebAssembly SIMD/);
  assert.equal(await page.isDisabled('#nik'), true);
  await page.click('#lang-en');
  assert.match(await page.textContent('#unsupported'), /This browser cannot run the verification/);
  await page.close();

  const offline = await camera.context.newPage();
  await offline.route('**/*.wasm', (route) => route.abort());
  await offline.goto(proxy.url);
  await offline.waitForSelector('body[data-ready="unsupported"]');
  assert.match(await offline.textContent('#unsupported'), /Modul verifikasi gagal dimuat/);
  await screenshot(offline, '12-module-failed');
  await offline.close();
});

test('camera permission denied falls back to a file upload', async () => {
  const denied = await launch(['--use-fake-device-for-media-stream', '--deny-permission-prompts']);
  try {
    const page = await openPage(denied.context);
    await page.fill('#nik', NIK);
    await page.click('#start-camera');
    await page.waitForFunction(() => /Izin kamera ditolak/.test(document.getElementById('camera-status').textContent));
    assert.equal(await page.isVisible('label[for="file"]'), true);
    await page.setInputFiles('#file', path.join(FIXTURES, 'photo_12mp.jpg'));
    await page.waitForFunction(() => /1280×960/.test(document.getElementById('camera-status').textContent));
    await page.check('#consent');
    await screenshot(page, '6-file-fallback');
    await submitAndWait(page);
    assert.match(await resultText(page), /^Cocok/);
    assertForwarded();
    recorded();
    await page.close();
  } finally {
    await denied.close();
  }
});

test('an expired token is answered with a clear message and nothing is forwarded', async () => {
  const page = await openPage();
  const txn = 'e2e-expired-1';
  const expired = await mint({ nik: NIK, txn, iatOffset: -3600, ttl: 600 });
  await page.route('**/kyc/session', (route) => route.fulfill({ json: { token: expired, transactionId: txn, expiresIn: 300 } }));
  await fillForm(page);
  await submitAndWait(page);
  assert.match(await resultText(page), /Sesi verifikasi tidak sah atau sudah kedaluwarsa/);
  await screenshot(page, '7-expired-token');
  assert.equal(double.requests.length, 0);
  assert.equal(backend.records.size, 0);
  await page.close();
});

test('a receipt the backend cannot verify is not recorded, and the page says so', async () => {
  const page = await openPage();
  // Something between the page and the backend hands over another receipt.
  await page.route('**/kyc/complete', async (route) => {
    const body = JSON.parse(route.request().postData());
    const [h, c, s] = body.receipt.split('.');
    const forged = JSON.parse(Buffer.from(c, 'base64url').toString());
    forged.outcome = 'match';
    forged.match = true;
    await route.continue({ postData: JSON.stringify({ ...body, receipt: `${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${s}` }) });
  });
  double.behave('nomatch');
  await fillForm(page);
  await submitAndWait(page);
  assert.match(await resultText(page), /Server menolak tanda terima/);
  assert.equal(backend.records.size, 0);
  await page.close();
});

test('an upstream timeout offers a retry that then succeeds', async () => {
  double.behave('hang');
  const page = await openPage();
  await fillForm(page);
  await submitAndWait(page);
  assert.match(await resultText(page), /tidak menjawab tepat waktu/);
  assert.equal(await page.isVisible('#retry'), true);
  await screenshot(page, '8-timeout');
  double.behave('match');
  await page.click('#retry');
  await page.waitForFunction(() => /^Cocok/.test(document.getElementById('result-text').textContent));
  assert.equal(double.requests.length, 2);
  // The retry is the same transaction, with the same token.
  const [first, second] = double.requests.map((r) => r.headers.transactionid);
  assert.equal(first, second);
  assert.equal(recorded().transactionId, first);
  await page.close();
});

test('a double submit sends once', async () => {
  const page = await openPage();
  await fillForm(page);
  await page.evaluate(() => {
    const form = document.getElementById('form');
    form.requestSubmit();
    form.requestSubmit();
  });
  await page.waitForSelector('#result:not([hidden])');
  await page.waitForFunction(() => !document.querySelector('form').hasAttribute('aria-busy'));
  assert.equal(double.requests.length, 1);
  recorded();
  await page.close();
});

test('the English switch translates the page, the NIK status and the verdict', async () => {
  double.behave('nomatch');
  const page = await openPage();
  await page.click('#lang-en');
  assert.equal(await page.textContent('h1'), 'Verify your NIK and face');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.fill('#nik', '3273014101901234');
  assert.match(await page.textContent('#nik-status'), /Kota Bandung, Jawa Barat · born 1 January 1990 · female/);
  await takePhoto(page);
  await page.check('#consent');
  await submitAndWait(page);
  assert.match(await resultText(page), /^No match\./);
  assert.match(await page.textContent('#result-note'), /receipt was checked/);
  recorded();
  await screenshot(page, '9-english');
  await page.close();
});

test('the layout fits a 360 px screen', async () => {
  const page = await openPage();
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
  await screenshot(page, '10-narrow');
  await page.close();
});

test('no request from the page carries the HyperVerge credentials', () => {
  assert.ok(pageRequests.length > 10);
  for (const r of pageRequests) {
    const names = Object.keys(r.headers).map((h) => h.toLowerCase());
    assert.ok(!names.includes('appid') && !names.includes('appkey'), r.url);
  }
  // The page never holds a secret, so none can be in what it sends, in any encoding.
  const secrets = [['appId', APP_ID], ['appKey', APP_KEY], ['PROXY_JWT_SECRET', JWT_SECRET]];
  assertNoLeak(secrets, pageRequests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`), 'a request from the page');
});

test('the demo environment as deployed: an anonymous sandbox that says so, no credentials at all', async () => {
  // No vars: exactly wrangler.toml's [env.demo], which `wrangler deploy --env demo` deploys. It
  // serves the page itself, with www/config.json: no backend, so no token and no one to check
  // the receipt.
  const sandbox = await startE2eWrangler(() => ({}));
  try {
    for (const [serial, verdict] of [['0001', /^Cocok/], ['0002', /^Tidak cocok/]]) {
      const page = await openPage(camera.context, sandbox.url);
      await fillForm(page, `327301010190${serial}`);
      await submitAndWait(page);
      assert.match(await resultText(page), verdict);
      assert.match(await page.textContent('#result-note'), /Mode uji \(sandbox\): hasil simulasi, tanpa server/);
      if (serial === '0001') await screenshot(page, '13-deployed-sandbox');
      await page.close();
    }
    // Its receipts are signed by a key the isolate made, published in its own JWKS.
    const jwks = await (await fetch(`${sandbox.url}/.well-known/jwks.json`)).json();
    assert.equal(jwks.keys.length, 1);
  } finally {
    await sandbox.stop();
  }
});

test('the demo environment with live credentials beside it refuses everything and never calls upstream', async () => {
  // [env.demo] with an upstream that would answer: a sandbox next to live credentials is a
  // production Worker switched to simulated answers by mistake, so the proxy fails closed.
  const sandbox = await startE2eWrangler(() => ({ HV_BASE_URL: double.url, HV_APP_ID: APP_ID, HV_APP_KEY: APP_KEY }));
  try {
    const res = await fetch(`${sandbox.url}/v1/dukcapilWithFacematch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', transactionId: 'e2e-demo-live-credentials' },
      body: JSON.stringify({ id: '3273010101900001', image: '/9j/4AAQ' }),
    });
    const body = await res.json();
    assert.equal(res.status, 500);
    assert.equal(body.error.code, 'PROXY_MISCONFIGURED');
    const page = await openPage(camera.context, sandbox.url);
    await fillForm(page, '3273010101900001');
    await submitAndWait(page);
    assert.doesNotMatch(await resultText(page), /^Cocok|^Tidak cocok/);
    await page.close();
    assert.equal(double.requests.length, 0, 'the sandbox called upstream');
  } finally {
    await sandbox.stop();
  }
});

