// What the package says when something goes wrong around it, in headless Chromium: a strict
// Content Security Policy, a cross-origin image, wrong options, a .wasm that does not load;
// and the NIK-only entry. Run: node --test tests/web/errors.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { serve, launch, open, PKG, FIXTURES } from './lib.mjs';

// The policy of the report: images only from 'self', so no `blob:` URL.
const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";
// A JPEG whose headers are whole (64×64, with its end marker) but which has no tables and
// noise for data: a browser cannot decode it (as crates/dukcapil-web/tests/browser.rs builds it).
const BROKEN_JPEG = Buffer.from([
  0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0, 64, 0, 64, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
  0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0,
  ...Array.from({ length: 500 }, (_, i) => (Math.imul(i, 2_654_435_761) >>> 24) & 0x7f),
  0xff, 0xd9,
]);

const page = (title) => `<!doctype html><meta charset="utf-8"><title>${title}</title>`
  + '<script type="module" src="/t/boot.js"></script>';

// A PNG whose IHDR has a wrong checksum: its size reads (64×64), but no browser decodes it,
// even through an <img> (which paints a broken JPEG grey rather than failing).
const BROKEN_PNG = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
  0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 64, 0, 0, 0, 64, 8, 2, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef,
  0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
]);

let server;
let other;
let browser;

before(async () => {
  const html = (headers, body) => (req, res) => { res.writeHead(200, { 'content-type': 'text/html', ...headers }); res.end(body); };
  server = await serve({
    mounts: { '/pkg/': PKG, '/fx/': FIXTURES },
    routes: {
      'GET /t/boot.js': (req, res) => {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end("import * as dk from '/pkg/index.js'; import * as nik from '/pkg/nik.js'; window.dk = dk; window.nik = nik;");
      },
      'GET /plain.html': html({}, page('plain')),
      'GET /csp.html': html({ 'content-security-policy': STRICT_CSP }, page('strict CSP')),
      'GET /t/broken.jpg': (req, res) => { res.writeHead(200, { 'content-type': 'image/jpeg' }); res.end(BROKEN_JPEG); },
      'GET /t/broken.png': (req, res) => { res.writeHead(200, { 'content-type': 'image/png' }); res.end(BROKEN_PNG); },
      // A dev server's fallback page where the .wasm should be.
      'GET /html/dukcapil_web_bg.wasm': html({}, '<!doctype html><html><body>app</body></html>'),
    },
  });
  // Another origin (another port), for a cross-origin image.
  other = await serve({ mounts: { '/fx/': FIXTURES } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await other?.close();
  await server?.close();
});

/** Opens `path`, waits for the package, removes the `globals` named, runs `fn(arg)`. */
async function inPage(path, globals, fn, arg) {
  const p = await open(browser.context, `${server.url}${path}`);
  try {
    await p.waitForFunction(() => window.dk !== undefined && window.nik !== undefined);
    await p.evaluate((names) => {
      for (const n of names) {
        delete globalThis[n];
        delete Object.getPrototypeOf(globalThis)[n];
        if (n in globalThis) throw new Error(`could not remove ${n}`);
      }
    }, globals);
    return await p.evaluate(fn, arg);
  } finally {
    await p.close();
  }
}

/** prepareSelfie on the file at `url`: `{ ok, width }` or the error's fields. */
const prepareFile = async (url) => {
  const blob = await (await fetch(url)).blob();
  try {
    const s = await window.dk.prepareSelfie(blob, { maxBytes: 300_000 });
    return { ok: true, width: s.width };
  } catch (e) {
    return { ok: false, name: e.name, code: e.code, message: e.message, messageId: e.messageId };
  }
};

test('a strict CSP: files decode without a blob: URL, and a block is not "damaged"', async () => {
  // ImageDecoder (Chromium): no <img>, no blob: URL.
  assert.deepEqual(await inPage('/csp.html', [], prepareFile, '/fx/photo_12mp.jpg'), { ok: true, width: 1280 });
  // Without ImageDecoder (as in Safari) the <img> is blocked; createImageBitmap reads the file.
  assert.deepEqual(await inPage('/csp.html', ['ImageDecoder'], prepareFile, '/fx/photo_12mp.jpg'), { ok: true, width: 1280 });
  // With neither, the policy is named, not the file.
  const blocked = await inPage('/csp.html', ['ImageDecoder', 'createImageBitmap'], prepareFile, '/fx/photo_12mp.jpg');
  assert.equal(blocked.code, 'SELFIE_BLOCKED', JSON.stringify(blocked));
  assert.match(blocked.message, /security policy/);
  // The same path without a policy still calls a broken file broken.
  const broken = await inPage('/plain.html', ['ImageDecoder', 'createImageBitmap'], prepareFile, '/t/broken.png');
  assert.equal(broken.code, 'SELFIE_CORRUPT', JSON.stringify(broken));
  // Blocked, then not decodable by createImageBitmap either: the file's fault after all.
  const brokenUnderCsp = await inPage('/csp.html', ['ImageDecoder'], prepareFile, '/t/broken.jpg');
  assert.equal(brokenUnderCsp.code, 'SELFIE_CORRUPT', JSON.stringify(brokenUnderCsp));
});

test('a cross-origin image is named as such', async () => {
  const got = await inPage('/plain.html', [], async (src) => {
    const img = new Image();
    img.src = src; // no crossOrigin: drawing it taints the canvas
    await img.decode();
    try {
      await window.dk.prepareSelfie(img);
      return null;
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, `${other.url}/fx/astronaut.png`);
  assert.equal(got.code, 'SELFIE_CROSS_ORIGIN');
  assert.match(got.message, /cross-origin/);
});

test('SELFIE_INVALID_OPTIONS names the option and what it allows; typos are errors', async () => {
  const got = await inPage('/plain.html', [], async () => {
    const out = [];
    const cases = [
      { maxBytes: 9999 }, { quality: 0 }, { maxBytes: '9999' }, { maxDimension: 100.5 },
      { maxByte: 500_000 }, { checks: { minSharp: 0.5 } }, { checks: 'on' },
      { checks: { minBrightness: 120, maxBrightness: 100 } }, { checks: { faces: 1 } },
    ];
    for (const options of cases) {
      try {
        await window.dk.prepareSelfie(new ImageData(64, 64), options);
        out.push('accepted');
      } catch (e) {
        out.push(`${e.code} | ${e.message} | ${e.messageId}`);
      }
    }
    return out;
  });
  const want = [
    '`maxBytes` must be a whole number from 10000 to 2000000.',
    '`quality` must be a number above 0 and at most 1.',
    '`maxBytes` must be a whole number from 10000 to 2000000.',
    '`maxDimension` must be a whole number from 64 to 8192.',
    '`maxByte` is not an option (options: maxDimension, maxBytes, quality, maxPixels, checks).',
    '`checks.minSharp` is not an option (options: checks.minBrightness,',
    '`checks` must be true, false or an object of thresholds.',
    '`checks.minBrightness` must not be above `checks.maxBrightness`.',
    '`checks.faces` must be true / false.',
  ];
  got.forEach((line, i) => {
    const [code, message, messageId] = line.split(' | ');
    assert.equal(code, 'SELFIE_INVALID_OPTIONS', line);
    assert.ok(message.startsWith('The photo processing settings are not valid. '), line);
    assert.ok(message.includes(want[i]), `${line}\nwants ${want[i]}`);
    const name = want[i].match(/`([^`]+)`/)[1];
    assert.ok(messageId.includes(`\`${name}\``), `Indonesian message names ${name}: ${messageId}`);
  });
});

test('a failed init() is remembered: the URL tried and what came back', async () => {
  const got = await inPage('/plain.html', [], async () => {
    const out = {};
    try { await window.dk.init('/html/dukcapil_web_bg.wasm'); } catch (e) { out.html = e.message; out.initError = e; }
    try { window.dk.parseNik('3273010101900001'); } catch (e) { out.rethrown = e === out.initError; out.parse = e.message; }
    delete out.initError;
    try { await window.dk.init('/nowhere/dukcapil_web_bg.wasm'); } catch (e) { out.missing = e.message; out.cause = e.cause instanceof Error; }
    // A later init() that works clears it.
    await window.dk.init();
    out.after = window.dk.parseNik('3273010101900001').regency.name;
    return out;
  });
  assert.match(got.html, new RegExp(`from ${server.url}/html/dukcapil_web_bg\\.wasm: HTTP 200 text/html, starting "<!doctype html><"`));
  assert.equal(got.rethrown, true);
  assert.match(got.parse, /could not load the WebAssembly module/);
  assert.match(got.missing, /nowhere\/dukcapil_web_bg\.wasm: HTTP 404 .*starting "not found"/);
  assert.equal(got.cause, true);
  assert.equal(got.after, 'Kota Bandung');
});

test('a browser without WebAssembly SIMD is told so by init(), not sent to look for the file', async () => {
  const got = await inPage('/plain.html', [], async () => {
    // A module this browser cannot compile, in a browser whose validator knows no SIMD.
    const broken = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 99]);
    const out = {};
    try { await window.dk.init(broken); } catch (e) { out.capable = e.message; }
    out.simdHere = window.dk.hasWasmSimd();
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    out.simdBlind = window.dk.hasWasmSimd();
    try { await window.dk.init(broken); } catch (e) { out.noSimd = e.message; out.compile = e.cause instanceof WebAssembly.CompileError; }
    WebAssembly.validate = validate;
    return out;
  });
  assert.match(got.capable, /could not load the WebAssembly module from the source given to init\(\)/);
  assert.doesNotMatch(got.capable, /SIMD/);
  assert.equal(got.noSimd, 'dukcapil-facematch needs WebAssembly SIMD: Chrome 91, Firefox 90, Safari 16.4 or later');
  assert.equal(got.compile, true);
  assert.deepEqual([got.simdHere, got.simdBlind], [true, false]);
});

test('strictRegions refuses regency codes never issued; by default they pass', async () => {
  const got = await inPage('/plain.html', [], async () => {
    await window.dk.init();
    const { parseNik } = window.dk;
    const out = { lax: parseNik('3299010101900001').regency.name };
    try { parseNik('3299010101900001', { strictRegions: true }); } catch (e) { out.strict = [e.code, e.message]; }
    out.retired = parseNik('9101010101900001', { strictRegions: true }).regency.movedTo;
    try { parseNik('3273010101900001', { strict: true }); } catch (e) { out.typo = e instanceof TypeError; }
    return out;
  });
  assert.deepEqual(got, {
    lax: null,
    strict: ['NIK_REGENCY', 'The regency/city code 32.99 (digits 1–4) is not a known regency or city.'],
    retired: '93.01',
    typo: true,
  });
});

test('the NIK-only entry: its own module, the same NikError class', async () => {
  const got = await inPage('/plain.html', [], async () => {
    const { nik, dk } = window;
    const out = {};
    try { nik.parseNik('3273010101900001'); } catch (e) { out.beforeInit = e.message; }
    await nik.init();
    out.regency = nik.parseNik('3273010101900001').regency.name;
    out.valid = [nik.isValidNik('3273010101900001'), nik.isValidNik('3273010101900000')];
    try { nik.parseNik('3299010101900001', { strictRegions: true }); } catch (e) {
      out.error = [e instanceof nik.NikError, e instanceof dk.NikError, e.code];
    }
    out.sameClass = nik.NikError === dk.NikError;
    // The main entry's module was never loaded by this.
    out.mainLoaded = performance.getEntriesByType('resource').some((r) => r.name.endsWith('dukcapil_web_bg.wasm'));
    out.nikLoaded = performance.getEntriesByType('resource').some((r) => r.name.endsWith('dukcapil_nik_bg.wasm'));
    return out;
  });
  assert.deepEqual(got, {
    beforeInit: 'dukcapil-facematch: await init() before calling parseNik or isValidNik',
    regency: 'Kota Bandung',
    valid: [true, false],
    error: [true, true, 'NIK_REGENCY'],
    sameClass: true,
    mainLoaded: false,
    nikLoaded: true,
  });
});
