// The npm package as users get it: `npm pack` of pkg/, installed offline into a fresh Vite
// app (built with `vite build`) and served as-is to a plain <script type="module"> page;
// both prepare a selfie in headless Chromium. Its README is held to what it says: the
// TypeScript examples compile with tsc --strict against the installed package, the Node
// example runs, and the mock proxy it ships answers `verify` across origins.
// Run: node --test tests/web/package.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { serve, launch, open, PKG, ROOT, FIXTURES } from './lib.mjs';

const WORK = path.join(ROOT, 'target/web/package-test');
const APP = path.join(WORK, 'vite-app');
// An app that imports only the NIK-only entry.
const NIK_APP = path.join(WORK, 'nik-app');
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
  fs.mkdirSync(path.join(NIK_APP, 'src'), { recursive: true });
  fs.writeFileSync(path.join(NIK_APP, 'package.json'), JSON.stringify({ name: 'nik-app', private: true, type: 'module' }));
  fs.writeFileSync(path.join(NIK_APP, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>nik</title><script type="module" src="/src/main.js"></script>');
  fs.writeFileSync(path.join(NIK_APP, 'src/main.js'),
    "import { init, parseNik } from 'dukcapil-facematch/nik'; await init(); window.result = parseNik('3273010101900001').regency.name;");
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], NIK_APP);
  run(path.join(ROOT, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn', '--base', '/nik-app/', NIK_APP], NIK_APP);
  fs.writeFileSync(path.join(WORK, 'plain.html'),
    `<!doctype html><meta charset="utf-8"><title>plain</title><script type="module">${PAGE_CODE('/pkg/index.js')}</script>`);
  server = await serve({
    mounts: {
      '/fx/': FIXTURES,
      '/pkg/': path.join(APP, 'node_modules/dukcapil-facematch'),
      '/plain/': WORK,
      '/nik-app/': path.join(NIK_APP, 'dist'),
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
  for (const f of ['index.js', 'index.d.ts', 'nik.js', 'nik.d.ts', 'loader.js', 'errors.js', 'dukcapil_web.js',
    'dukcapil_web_bg.wasm', 'dukcapil_nik.js', 'dukcapil_nik_bg.wasm', 'package.json', 'README.md', 'LICENSE', 'NOTICE']) {
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

/** The package as installed in the Vite app. */
const INSTALLED = () => path.join(APP, 'node_modules/dukcapil-facematch');

test('every @ts-self-types pointer in the package names a file it ships', () => {
  const pkg = INSTALLED();
  const js = run('find', [pkg, '-name', '*.js'], pkg).trim().split('\n');
  for (const file of js) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/@ts-self-types="([^"]+)"/g)) {
      assert.ok(fs.existsSync(path.join(path.dirname(file), m[1])), `${path.relative(pkg, file)} points at missing ${m[1]}`);
    }
  }
});

test('a Vite app of the NIK-only entry ships only the small module', async () => {
  const assets = fs.readdirSync(path.join(NIK_APP, 'dist/assets'));
  const wasm = assets.filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, `${wasm}`);
  assert.match(wasm[0], /^dukcapil_nik_bg/);
  const page = await open(browser.context, `${server.url}/nik-app/`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.result), 'Kota Bandung');
  await page.close();
});

/** The README's fenced blocks: `{ info, code }`, indented ones (in list items) included. */
function readmeBlocks() {
  const text = fs.readFileSync(path.join(INSTALLED(), 'README.md'), 'utf8');
  const blocks = [];
  for (const m of text.matchAll(/^( *)```([^\n]*)\n([\s\S]*?)^\1```$/gm)) {
    const indent = m[1].length;
    const code = m[3].split('\n').map((l) => l.slice(indent)).join('\n');
    blocks.push({ info: m[2].trim(), code });
  }
  return blocks;
}

test('the README keeps to users: no maintainer notes', () => {
  const text = fs.readFileSync(path.join(INSTALLED(), 'README.md'), 'utf8');
  for (const maintainerOnly of ['For maintainers', 'opt-level', 'POWER_OF_FIVE_128', 'wasm-opt']) {
    assert.ok(!text.includes(maintainerOnly), `the package README mentions ${maintainerOnly}`);
  }
  for (const section of ['## The proxy', 'Access-Control-Allow-Headers: authorization, content-type, transactionid',
    'crates/dukcapil-proxy', 'cargo xtask demo', '### Content Security Policy', "img-src 'self' blob: data:",
    'wasm-unsafe-eval', 'connect-src', 'optimizeDeps', 'strictRegions', 'dukcapil-facematch/nik']) {
    assert.ok(text.includes(section), `the package README lacks ${section}`);
  }
});

test('the README\'s TypeScript examples compile with tsc --strict against the package', () => {
  const dir = path.join(APP, 'readme-examples');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const ts = readmeBlocks().filter((b) => b.info === 'ts');
  assert.ok(ts.length >= 2, 'the README has TypeScript examples');
  ts.forEach((b, i) => fs.writeFileSync(path.join(dir, `example${i}.ts`), b.code));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', module: 'es2022', moduleResolution: 'bundler',
      lib: ['es2022', 'dom', 'dom.iterable'], types: [], skipLibCheck: false,
      exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
    },
    include: ['*.ts'],
  }));
  run(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', dir], dir);
});

test('the README\'s Node example runs as written', () => {
  const node = readmeBlocks().find((b) => b.info === 'js node-example.mjs');
  assert.ok(node, 'the README has a Node example');
  const file = path.join(APP, 'node-example.mjs');
  fs.writeFileSync(file, node.code);
  assert.equal(run('node', [file], APP).trim(), 'Kota Bandung');
});

test('the README\'s mock proxy answers verify from another origin', async () => {
  const mock = readmeBlocks().find((b) => b.info === 'js mock-proxy.mjs');
  assert.ok(mock, 'the README has the mock proxy');
  const file = path.join(WORK, 'mock-proxy.mjs');
  fs.writeFileSync(file, mock.code);
  assert.ok(mock.code.split('\n').length <= 25, 'the mock is short');
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const child = spawn('node', [file], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  try {
    const page = await open(browser.context, `${server.url}/plain/plain.html`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 30_000 });
    const got = await page.evaluate(async (endpoint) => {
      const { FaceMatchClient } = await import('/pkg/index.js');
      const client = new FaceMatchClient({ endpoint, token: 'dev-token', allowSandbox: true });
      const selfie = '/9j/4AAQSkZJRgABAQ==';
      for (let i = 0; ; i++) {
        try {
          const yes = await client.verify({ nik: '3273010101901234', selfie, transactionId: 'kyc-1' });
          const no = await client.verify({ nik: '3273010101900002', selfie, transactionId: 'kyc-2' });
          return { yes: [yes.match, yes.sandbox, yes.transactionId], no: no.match };
        } catch (e) {
          // The mock may still be starting: NETWORK until it listens.
          if (e.code !== 'NETWORK' || i > 200) return { error: `${e.code} ${e.reason}` };
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }, `http://127.0.0.1:${port}`);
    assert.deepEqual(got, { yes: [true, true, 'kyc-1'], no: false });
    await page.close();
  } finally {
    child.kill();
  }
});

test('the Vite dev server needs no optimizeDeps.exclude from Vite 8 (the pinned one)', async () => {
  // Vite 6.4 and 7.3 pre-bundle the JS away from its .wasm (checked by hand; see the README).
  const dir = path.join(WORK, 'dev-app');
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'dev-app', private: true, type: 'module' }));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>dev</title><script type="module" src="/src/main.js"></script>');
  fs.writeFileSync(path.join(dir, 'src/main.js'), "import { init, parseNik } from 'dukcapil-facematch';\n"
    + "try { await init(); window.result = parseNik('3273010101900001').regency.name; } catch (e) { window.result = e.message; }");
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], dir);
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const dev = spawn(path.join(ROOT, 'node_modules/.bin/vite'), ['--host', '127.0.0.1', '--port', String(port), '--strictPort', dir],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    // Ready when it answers: its banner's wording and colours vary (colours are on under CI=1).
    let exited = null;
    dev.once('exit', (code) => { exited = code; });
    const deadline = Date.now() + 60_000;
    for (;;) {
      assert.equal(exited, null, `vite exited with ${exited}`);
      assert.ok(Date.now() < deadline, 'the Vite dev server did not answer within 60 s');
      const up = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const page = await open(browser.context, `http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => window.result), 'Kota Bandung');
    await page.close();
  } finally {
    dev.kill();
  }
});
