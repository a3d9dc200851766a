// `cargo xtask bench`: one headless Chromium run, our module against the native canvas
// pipeline and two npm libraries. Prints medians; asserts nothing about time.
// Usage: node tests/web/bench.mjs [--runs 15] [--warmup 3]
import path from 'node:path';
import zlib from 'node:zlib';
import fs from 'node:fs';
import { build } from 'esbuild';
import { serve, launch, open, PKG, ROOT, FIXTURES } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 15);
const WARMUP = arg('--warmup', 3);

const server = await serve({
  mounts: {
    '/pkg/': PKG,
    '/nm/': path.join(ROOT, 'node_modules'),
    '/fx/': FIXTURES,
    '/': path.join(ROOT, 'tests/web'),
  },
});
const browser = await launch();
try {
  const page = await open(browser.context, `${server.url}/bench.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const rows = await page.evaluate(async ({ RUNS, WARMUP }) => {
    const { dk, imageCompression, Compressor } = window;
    const MAX = 1280;
    const Q = 0.85;
    const load = (src) => new Promise((ok, ko) => {
      const img = new Image();
      img.onload = () => ok(img);
      img.onerror = ko;
      img.src = src;
    });
    const frameImg = await load('/fx/frame_1080.png');
    const c0 = document.createElement('canvas');
    c0.width = frameImg.naturalWidth;
    c0.height = frameImg.naturalHeight;
    const x0 = c0.getContext('2d');
    x0.drawImage(frameImg, 0, 0);
    const frame = x0.getImageData(0, 0, c0.width, c0.height);
    const framePng = await (await fetch('/fx/frame_1080.png')).blob();
    const photo = await (await fetch('/fx/photo_12mp.jpg')).blob();
    const photoFile = new File([photo], 'photo.jpg', { type: 'image/jpeg' });
    const framePngFile = new File([framePng], 'frame.png', { type: 'image/png' });

    const fit = (w, h) => {
      const s = Math.min(1, MAX / Math.max(w, h));
      return [Math.round(w * s), Math.round(h * s)];
    };
    const toBase64 = (blob) => new Promise((ok, ko) => {
      const r = new FileReader();
      r.onload = () => ok(r.result.slice(r.result.indexOf(',') + 1));
      r.onerror = ko;
      r.readAsDataURL(blob);
    });
    const toBlob = (canvas) => new Promise((ok) => canvas.toBlob(ok, 'image/jpeg', Q));
    const drawEncode = async (src, w, h) => {
      const [tw, th] = fit(w, h);
      const c = document.createElement('canvas');
      c.width = tw;
      c.height = th;
      c.getContext('2d').drawImage(src, 0, 0, tw, th);
      const blob = await toBlob(c);
      return { bytes: blob.size, b64: await toBase64(blob) };
    };
    const compressor = (file) => new Promise((ok, ko) => {
      new Compressor(file, {
        maxWidth: MAX, maxHeight: MAX, quality: Q, mimeType: 'image/jpeg', convertSize: 0,
        success: async (b) => ok({ bytes: b.size, b64: await toBase64(b) }), error: ko,
      });
    });
    const bic = async (file) => {
      const b = await imageCompression(file, {
        maxWidthOrHeight: MAX, initialQuality: Q, useWebWorker: false, fileType: 'image/jpeg',
      });
      return { bytes: b.size, b64: await toBase64(b) };
    };
    const ours = (src, extra) => async () => {
      const r = await dk.prepareSelfie(src, { maxDimension: MAX, quality: Q, ...extra });
      return { bytes: r.bytes, b64: r.base64 };
    };

    const cases = [
      ['frame', 'dukcapil-facematch (ImageData)', ours(frame), false],
      ['frame', 'native: putImageData + drawImage + toBlob', async () => {
        const c = document.createElement('canvas');
        c.width = frame.width;
        c.height = frame.height;
        c.getContext('2d').putImageData(frame, 0, 0);
        return drawEncode(c, frame.width, frame.height);
      }, true],
      ['frame', 'native: createImageBitmap(ImageData) + drawImage + toBlob', async () => {
        const b = await createImageBitmap(frame);
        const r = await drawEncode(b, b.width, b.height);
        b.close();
        return r;
      }, true],
      ['frame', 'browser-image-compression 2.0.2 (PNG Blob, no worker)', () => bic(framePngFile), false],
      ['frame', 'compressorjs 1.3.0 (PNG Blob)', () => compressor(framePngFile), false],
      ['file', 'dukcapil-facematch (File)', ours(photoFile), false],
      ['file', 'native: <img> + drawImage + toBlob', async () => {
        const url = URL.createObjectURL(photo);
        try {
          const img = await load(url);
          return await drawEncode(img, img.naturalWidth, img.naturalHeight);
        } finally {
          URL.revokeObjectURL(url);
        }
      }, true],
      ['file', 'native: createImageBitmap(blob) + drawImage + toBlob', async () => {
        const b = await createImageBitmap(photo);
        const r = await drawEncode(b, b.width, b.height);
        b.close();
        return r;
      }, true],
      ['file', 'browser-image-compression 2.0.2 (no worker)', () => bic(photoFile), false],
      ['file', 'compressorjs 1.3.0', () => compressor(photoFile), false],
    ];
    // Round-robin, so JIT tier-up, GC and thermal drift hit every method alike.
    const times = cases.map(() => []);
    const last = [];
    for (let round = 0; round < WARMUP + RUNS; round++) {
      for (let i = 0; i < cases.length; i++) {
        const t0 = performance.now();
        last[i] = await cases[i][2]();
        if (round >= WARMUP) times[i].push(performance.now() - t0);
      }
    }
    const out = cases.map(([input, name, , native], i) => {
      const t = times[i].sort((a, b) => a - b);
      return {
        input, name, native,
        ms: t[Math.floor(t.length / 2)],
        bytes: last[i].bytes,
        ok: last[i].b64.startsWith('/9j/'),
      };
    });
    return out;
  }, { RUNS, WARMUP });

  const gz = (buf) => zlib.gzipSync(buf, { level: 9 }).length;
  // JS as an app ships it: bundled and minified (the .wasm stays a separate asset).
  const bundled = await build({
    entryPoints: [path.join(PKG, 'index.js')], bundle: true, minify: true, format: 'esm', write: false,
  });
  const jsGz = gz(bundled.outputFiles[0].contents);
  const wasmGz = gz(fs.readFileSync(path.join(PKG, 'dukcapil_web_bg.wasm')));

  const label = { frame: '1920×1080 ImageData → ≤1280 JPEG q0.85', file: '4032×3024 JPEG file (2.2 MB) → ≤1280 JPEG q0.85' };
  console.log(`\nheadless Chromium, median of ${RUNS} runs after ${WARMUP} warm-ups (includes base64)`);
  for (const input of ['frame', 'file']) {
    const mine = rows.filter((r) => r.input === input);
    const fastestNative = Math.min(...mine.filter((r) => r.native).map((r) => r.ms));
    console.log(`\n${label[input]}`);
    console.log('| method | median ms | output bytes | × fastest native |');
    console.log('|---|---:|---:|---:|');
    for (const r of mine) {
      const flag = r.ok ? '' : ' (NOT A JPEG)';
      console.log(`| ${r.name}${flag} | ${r.ms.toFixed(1)} | ${r.bytes.toLocaleString('en')} | ${(r.ms / fastestNative).toFixed(2)} |`);
    }
  }
  console.log(`\nour module, gzip -9: JS ${(jsGz / 1024).toFixed(1)} KB (bundled, minified) + wasm ${(wasmGz / 1024).toFixed(1)} KB = ${((jsGz + wasmGz) / 1024).toFixed(1)} KB`);
} finally {
  await browser.close();
  await server.close();
}
