// The onboarding page end to end: headless Chromium with a fake camera → the page → the
// Worker under wrangler dev → the HyperVerge contract double on loopback.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  APP_ID, APP_KEY, JWT_SECRET, FIXTURES, SCREENSHOTS,
  startDouble, startWrangler, launch, fakeCamera, mint, screenshot,
} from './harness.mjs';
import { assertNoLeak } from '../proxy/leaks.mjs';

const NIK = '3273010101901234';
const MAX_IMAGE_BYTES = 2_000_000;

let double;
let proxy;
let camera;
/** Every request any page made, with its headers: none may carry the credentials. */
const pageRequests = [];
/** Every answer of the API the pages got (status, headers, body), for the leak scan. */
const apiAnswers = [];
/** Every wrangler dev started, for the leak scan of what the Worker printed. */
const wranglers = [];

before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  // The page calls the API on its own origin, which the proxy allows without ALLOWED_ORIGINS.
  proxy = await startE2eWrangler(() => ({
    HV_BASE_URL: double.url,
    HV_APP_ID: APP_ID,
    HV_APP_KEY: APP_KEY,
    PROXY_JWT_SECRET: JWT_SECRET,
    ALLOW_ANONYMOUS: 'true',
    UPSTREAM_TIMEOUT_MS: '2000',
    SANDBOX: 'false',
  }));
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
  await proxy?.stop();
  // Fails here if the Worker broke the HyperVerge contract in a way no test declared.
  await double?.close?.();
  // Nothing the Worker printed or answered, and nothing it sent upstream besides appId and
  // appKey in their own headers, may hold a secret or a full NIK, in any encoding or in part.
  const needles = [['appId', APP_ID], ['appKey', APP_KEY], ['PROXY_JWT_SECRET', JWT_SECRET], ['full NIK', NIK]];
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
  double.behave('match');
  double.requests.length = 0;
});

async function openPage(context = camera.context, url = proxy.url) {
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

async function fillForm(page, nik = NIK) {
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

/** What the double received: one request with the right NIK, a JPEG ≤ 2 MB and our headers. */
function assertForwarded(nik = NIK) {
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
  assert.equal(await page.isHidden('#retry'), true);
  await screenshot(page, '2-match');
  assertForwarded();
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
  await page.close();
});

test('no face detected asks for another photo', async () => {
  double.behave('face-fail');
  const page = await openPage();
  await fillForm(page);
  await submitAndWait(page);
  assert.match(await resultText(page), /Wajah tidak terdeteksi/);
  assert.equal(await page.isHidden('#retry'), true, 'retrying the same photo cannot help');
  await screenshot(page, '4-no-face');
  await page.close();
});

test('a NIK typed with spaces is normalised', async () => {
  const page = await openPage();
  await fillForm(page, '  3273 0101 0190 1234 ');
  await submitAndWait(page);
  assert.match(await resultText(page), /^Cocok/);
  assertForwarded(NIK);
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

test('camera permission denied falls back to a file upload', async () => {
  const denied = await launch(['--use-fake-device-for-media-stream', '--deny-permission-prompts']);
  try {
    const page = await openPage(denied.context);
    await page.fill('#nik', NIK);
    await page.click('#start-camera');
    await page.waitForSelector('#file-fallback:not([hidden])');
    assert.match(await page.textContent('#camera-status'), /Izin kamera ditolak/);
    await page.setInputFiles('#file', path.join(FIXTURES, 'photo_12mp.jpg'));
    await page.waitForFunction(() => /1280×960/.test(document.getElementById('camera-status').textContent));
    await page.check('#consent');
    await screenshot(page, '6-file-fallback');
    await submitAndWait(page);
    assert.match(await resultText(page), /^Cocok/);
    assertForwarded();
    await page.close();
  } finally {
    await denied.close();
  }
});

test('an expired token is answered with a clear message and nothing is forwarded', async () => {
  const page = await openPage();
  const expired = await mint({ nik: NIK, iatOffset: -3600, ttl: 600 });
  await page.route('**/config.json', (route) =>
    route.fulfill({ json: { endpoint: '', tokenUrl: '/e2e-session-token', timeoutMs: 10000 } }));
  await page.route('**/e2e-session-token', (route) => route.fulfill({ body: expired }));
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await fillForm(page);
  await submitAndWait(page);
  assert.match(await resultText(page), /Sesi verifikasi tidak sah atau sudah kedaluwarsa/);
  await screenshot(page, '7-expired-token');
  assert.equal(double.requests.length, 0);
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

/** The demo's sandbox verdicts through the page: serial 0001 matches, 0002 does not. */
async function sandboxVerdicts(url) {
  for (const [serial, verdict] of [['0001', /^Cocok/], ['0002', /^Tidak cocok/]]) {
    const page = await openPage(camera.context, url);
    await fillForm(page, `327301010190${serial}`);
    await submitAndWait(page);
    assert.match(await resultText(page), verdict);
    await page.close();
  }
}

test('the demo environment as deployed: sandbox answers by NIK serial, no credentials at all', async () => {
  // No vars: exactly wrangler.toml's [env.demo], which `wrangler deploy --env demo` deploys.
  const sandbox = await startE2eWrangler(() => ({}));
  try {
    await sandboxVerdicts(sandbox.url);
  } finally {
    await sandbox.stop();
  }
});

test('the demo environment never calls upstream, even with live credentials and the double at hand', async () => {
  // [env.demo] with an upstream that would answer: a sandbox that leaked a call would reach it.
  const sandbox = await startE2eWrangler(() => ({ HV_BASE_URL: double.url, HV_APP_ID: APP_ID, HV_APP_KEY: APP_KEY }));
  try {
    await sandboxVerdicts(sandbox.url);
    assert.equal(double.requests.length, 0, 'the sandbox called upstream');
  } finally {
    await sandbox.stop();
  }
});
