// Hostile files in the browser: the built npm package (crates/dukcapil-web/pkg) in headless
// Chromium. Each must end in a typed SelfieError (or, for a valid file, a result), within a
// bound, and leave the tab alive: after each one the page still evaluates `1 + 1` and
// parses a NIK. Large inputs are made in the page (nothing is written to disk).
// Run: node --test tests/reliability/browser.test.mjs (CHROMIUM=/path/to/chromium).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { serve, launch, open, PKG } from '../web/lib.mjs';

// Generous: a 100 MB Blob is built and read in the page on a shared 2-core machine.
const BOUND_MS = 30_000;
const VALID_NIK = '3171024503990001';

let server, browser, page;
const crashes = [];

before(async () => {
  server = await serve({
    mounts: { '/pkg/': PKG },
    routes: {
      'GET /': (req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><meta charset="utf-8"><title>reliability</title>');
      },
    },
  });
  browser = await launch();
  page = await open(browser.context, `${server.url}/`);
  page.on('crash', () => crashes.push('crash'));
  await page.addScriptTag({ type: 'module', content: "import * as dk from '/pkg/index.js'; await dk.init(); window.dk = dk;" });
  await page.waitForFunction(() => window.dk !== undefined);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A PNG whose header claims w × h, with the first rows of a zero image as its data. */
function pngBomb(w, h, rows = 64) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const idat = zlib.deflateSync(Buffer.alloc(rows * (1 + w * 3)), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A page-side source (for `attempt`): 100 MiB of noise starting with the bytes `first`, as a
 * JPEG-named File or as an ArrayBuffer.
 */
function hugeNoise({ first, asFile }) {
  const n = 100 * 1024 * 1024;
  const bytes = new Uint8Array(n);
  // crypto.getRandomValues fills at most 64 KiB per call; repeat a 1 MiB noise block.
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  for (let i = 0; i < n; i += block.length) bytes.set(block, i);
  bytes.set(first);
  return asFile ? new File([bytes], 'huge.jpg', { type: 'image/jpeg' }) : bytes.buffer;
}

/**
 * Runs `body` (a function source taking `dk` and `arg`, returning a source for
 * prepareSelfie) in the page and returns { ok, code, name, message, width, height, ms }.
 */
async function attempt(makeSource, arg) {
  const t0 = Date.now();
  const outcome = await Promise.race([
    page.evaluate(async ([src, a]) => {
      // eslint-disable-next-line no-new-func
      const make = new Function('a', `return (${src})(a);`);
      const source = await make(a);
      try {
        const r = await window.dk.prepareSelfie(source);
        return { ok: true, width: r.width, height: r.height, bytes: r.bytes, mimeType: r.mimeType };
      } catch (e) {
        return { ok: false, name: e?.name, code: e?.code, message: e?.message, messageId: e?.messageId, isSelfieError: e instanceof window.dk.SelfieError };
      }
    }, [makeSource.toString(), arg]),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${BOUND_MS} ms`)), BOUND_MS).unref()),
  ]);
  outcome.ms = Date.now() - t0;
  return outcome;
}

/** The tab is alive and the module still works. */
async function assertAlive() {
  assert.deepEqual(crashes, [], 'the tab crashed');
  const alive = await Promise.race([
    page.evaluate(([nik]) => ({ two: 1 + 1, province: window.dk.parseNik(nik).province.code }), [VALID_NIK]),
    new Promise((_, reject) => setTimeout(() => reject(new Error('the page is unresponsive')), 5000).unref()),
  ]);
  assert.deepEqual(alive, { two: 2, province: '31' });
}

function assertTyped(r, codes) {
  assert.equal(r.ok, false, `expected a SelfieError, got a result ${JSON.stringify(r)}`);
  assert.equal(r.isSelfieError, true, `not a SelfieError: ${r.name} ${r.message}`);
  assert.equal(r.name, 'SelfieError');
  assert.ok(codes.includes(r.code), `code ${r.code}, expected one of ${codes}`);
  assert.ok(r.message.length > 0 && r.messageId.length > 0);
}

const results = [];
const record = (name, r) => {
  results.push(`${name}: ${r.ok ? `ok ${r.width}×${r.height}` : r.code} in ${r.ms} ms`);
  console.log(`browser: ${results.at(-1)}`);
};

// A real JPEG made by the page's canvas: 640 × 480 with some structure, lit well enough for
// the quality gate (a mostly black picture is SELFIE_TOO_DARK, rightly).
const CANVAS_JPEG = async () => {
  const c = new OffscreenCanvas(640, 480);
  const g = c.getContext('2d');
  g.fillStyle = '#9aa0a6';
  g.fillRect(0, 0, 640, 480);
  for (let i = 0; i < 48; i++) {
    g.fillStyle = `hsl(${i * 7}, 60%, ${30 + (i % 5) * 10}%)`;
    g.fillRect((i * 37) % 600, (i * 53) % 440, 80, 60);
  }
  return new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
};

test('a 30000 × 30000 PNG bomb → SELFIE_TOO_MANY_PIXELS, fast', async () => {
  const png = pngBomb(30000, 30000).toString('base64');
  const r = await attempt((b64) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    return new File([bytes], 'bomb.png', { type: 'image/png' });
  }, png);
  record('PNG bomb 30000×30000', r);
  assertTyped(r, ['SELFIE_TOO_MANY_PIXELS']);
  await assertAlive();
});

test('a truncated JPEG → SELFIE_CORRUPT or SELFIE_TRUNCATED', async () => {
  const r = await attempt(new Function('a', `return (async () => {
    const jpeg = await (${CANVAS_JPEG.toString()})();
    return new File([jpeg.slice(0, Math.floor(jpeg.length / 2))], 'half.jpg', { type: 'image/jpeg' });
  })();`));
  record('truncated JPEG (first half)', r);
  assertTyped(r, ['SELFIE_CORRUPT', 'SELFIE_TRUNCATED']);
  await assertAlive();
});

test('a JPEG cut inside its headers → SELFIE_CORRUPT or SELFIE_TRUNCATED', async () => {
  const r = await attempt(new Function('a', `return (async () => {
    const jpeg = await (${CANVAS_JPEG.toString()})();
    return new File([jpeg.slice(0, 200)], 'cut.jpg', { type: 'image/jpeg' });
  })();`));
  record('JPEG cut at 200 bytes', r);
  assertTyped(r, ['SELFIE_CORRUPT', 'SELFIE_TRUNCATED']);
  await assertAlive();
});

test('a JPEG with a 60 KB EXIF block (orientation 6) is read, and turned', async () => {
  const r = await attempt(new Function('a', `return (async () => {
    const jpeg = await (${CANVAS_JPEG.toString()})();
    // APP1: "Exif\\0\\0", a big-endian TIFF header, one IFD entry (0x0112 orientation = 6),
    // then padding up to a 60 KB segment.
    const size = 60 * 1024;
    const app1 = new Uint8Array(2 + size);
    const v = new DataView(app1.buffer);
    v.setUint16(0, 0xffe1);
    v.setUint16(2, size);
    app1.set([0x45, 0x78, 0x69, 0x66, 0, 0], 4);
    const t = 10;
    app1.set([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8], t);
    v.setUint16(t + 8, 1);
    v.setUint16(t + 10, 0x0112);
    v.setUint16(t + 12, 3);
    v.setUint32(t + 14, 1);
    v.setUint16(t + 18, 6);
    v.setUint32(t + 22, 0);
    for (let i = t + 26; i < app1.length; i++) app1[i] = i & 0x7f;
    return new File([jpeg.slice(0, 2), app1, jpeg.slice(2)], 'exif.jpg', { type: 'image/jpeg' });
  })();`));
  record('JPEG with a 60 KB APP1 (orientation 6)', r);
  assert.equal(r.ok, true, `expected a result, got ${r.code}: ${r.message}`);
  assert.deepEqual([r.width, r.height], [480, 640], 'orientation 6 turns 640×480 into 480×640');
  await assertAlive();
});

test('a zero-byte file → SELFIE_EMPTY', async () => {
  const r = await attempt(() => new File([], 'empty.jpg', { type: 'image/jpeg' }));
  record('zero-byte file', r);
  assertTyped(r, ['SELFIE_EMPTY']);
  await assertAlive();
});

test('100 MB of noise behind a JPEG signature → a typed error', async () => {
  const r = await attempt(hugeNoise, { first: [0xff, 0xd8, 0xff, 0xe0], asFile: true });
  record('100 MB, JPEG signature + noise', r);
  assertTyped(r, ['SELFIE_CORRUPT', 'SELFIE_TRUNCATED', 'SELFIE_TOO_MANY_PIXELS']);
  await assertAlive();
});

test('100 MB of noise with no signature, as an ArrayBuffer → a typed error', async () => {
  const r = await attempt(hugeNoise, { first: [0x00], asFile: false });
  record('100 MB noise, ArrayBuffer', r);
  assertTyped(r, ['SELFIE_UNSUPPORTED_FORMAT', 'SELFIE_CORRUPT']);
  await assertAlive();
});

test('a 100 MB PDF → SELFIE_PDF_TOO_LARGE before it is read', async () => {
  const r = await attempt(() => {
    const bytes = new Uint8Array(100 * 1024 * 1024);
    bytes.set(new TextEncoder().encode('%PDF-1.7\n'));
    return new Blob([bytes], { type: 'application/pdf' });
  });
  record('100 MB PDF', r);
  assertTyped(r, ['SELFIE_PDF_TOO_LARGE']);
  await assertAlive();
});

test('after all of it, a normal photo still goes through', async () => {
  const r = await attempt(new Function('a', `return (async () => new File([await (${CANVAS_JPEG.toString()})()], 'ok.jpg', { type: 'image/jpeg' }))();`));
  record('a normal 640×480 JPEG', r);
  assert.equal(r.ok, true, `${r.code}: ${r.message}`);
  assert.deepEqual([r.width, r.height], [640, 480]);
  await assertAlive();
  console.log(`browser cases: ${results.length}, tab alive after each`);
});
