// The npm package as users get it: `npm pack` of pkg/, installed offline into a fresh Vite
// app (built with `vite build`) and served as-is to a plain <script type="module"> page;
// both prepare a selfie in headless Chromium. Run: node --test tests/web/package.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { serve, launch, open, PKG, ROOT, FIXTURES } from './lib.mjs';

const WORK = path.join(ROOT, 'target/web/package-test');
const APP = path.join(WORK, 'vite-app');
const MAX_BYTES = 300_000;
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

// The page code both setups run: fetch the 12 MP photo, prepare it, report.
const PAGE_CODE = (specifier) => `
import { init, parseNik, prepareSelfie, SelfieError } from '${specifier}';
try {
  await init();
  const nik = parseNik('3273010101900001');
  const blob = await (await fetch('/fx/photo_12mp.jpg')).blob();
  const s = await prepareSelfie(blob, { maxBytes: ${MAX_BYTES} });
  window.result = { ok: true, head: s.base64.slice(0, 4), bytes: s.bytes, width: s.width,
    height: s.height, mimeType: s.mimeType, regency: nik.regency.name,
    errorClass: typeof SelfieError };
} catch (e) {
  window.result = { ok: false, error: String(e && e.stack || e) };
}
`;

let tarball;
let server;
let browser;

before(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(path.join(APP, 'src'), { recursive: true });
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', WORK, PKG], ROOT));
  tarball = path.join(WORK, packed[0].filename);
  fs.writeFileSync(path.join(APP, 'package.json'), JSON.stringify({
    name: 'dukcapil-vite-app', private: true, type: 'module',
  }));
  fs.writeFileSync(path.join(APP, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="/src/main.js"></script>');
  fs.writeFileSync(path.join(APP, 'src/main.js'), PAGE_CODE('dukcapil-facematch'));
  // The package has no dependencies: a local tarball installs with no registry at all.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], APP);
  // The root's pinned Vite, run on the app.
  run(path.join(ROOT, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn', APP], APP);
  fs.writeFileSync(path.join(WORK, 'plain.html'),
    `<!doctype html><meta charset="utf-8"><title>plain</title><script type="module">${PAGE_CODE('/pkg/index.js')}</script>`);
  server = await serve({
    mounts: {
      '/fx/': FIXTURES,
      '/pkg/': path.join(APP, 'node_modules/dukcapil-facematch'),
      '/plain/': WORK,
      '/': path.join(APP, 'dist'),
    },
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

function checkResult(r) {
  assert.equal(r.ok, true, r.error);
  assert.equal(r.head, '/9j/');
  assert.equal(r.mimeType, 'image/jpeg');
  assert.ok(r.bytes > 0 && r.bytes <= MAX_BYTES, `bytes ${r.bytes}`);
  assert.ok(r.width <= 1280 && r.height <= 1280, `${r.width}×${r.height}`);
  assert.equal(Math.max(r.width, r.height), 1280);
  assert.equal(r.regency, 'Kota Bandung');
  assert.equal(r.errorClass, 'function');
}

test('the tarball holds exactly the package files', () => {
  const listed = run('tar', ['-tzf', tarball], WORK).trim().split('\n').sort();
  for (const f of ['index.js', 'index.d.ts', 'errors.js', 'dukcapil_web.js', 'dukcapil_web_bg.wasm', 'package.json', 'README.md', 'LICENSE', 'NOTICE']) {
    assert.ok(listed.includes(`package/${f}`), `missing ${f}`);
  }
  assert.ok(listed.some((f) => /^package\/snippets\/.+\/js\/errors\.js$/.test(f)));
  assert.ok(!listed.some((f) => f.endsWith('.gitignore')));
});

test('Vite build of an app that imports the package', async () => {
  const assets = fs.readdirSync(path.join(APP, 'dist/assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `no wasm emitted: ${assets}`);
  const page = await open(browser.context, `${server.url}/`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30_000 });
  checkResult(await page.evaluate(() => window.result));
  await page.close();
});

test('plain <script type="module"> page', async () => {
  const page = await open(browser.context, `${server.url}/plain/plain.html`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30_000 });
  checkResult(await page.evaluate(() => window.result));
  await page.close();
});
