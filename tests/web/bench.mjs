// `cargo xtask bench browser`: one headless Chromium run, our module against the native canvas
// pipeline and two npm libraries, then where our time goes. Prints medians, the longest
// main-thread task seen during each method (Long Tasks API), and the machine's load; asserts
// nothing about time.
// Usage: node tests/web/bench.mjs [--runs 15] [--warmup 3]
// Needs crates/dukcapil-web/pkg (the published build) and PKG_STAGES (the same module built
// with the `stage-timing` feature, which puts each stage's time on the result).
import os from 'node:os';
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
const PKG_STAGES = process.env.PKG_STAGES;
if (!PKG_STAGES) throw new Error('PKG_STAGES: the stage-timing build of the package');

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ');
const loadBefore = load();

const server = await serve({
  mounts: {
    '/pkg/': PKG,
    '/pkg-stages/': PKG_STAGES,
    '/nm/': path.join(ROOT, 'node_modules'),
    '/fx/': FIXTURES,
    '/': path.join(ROOT, 'tests/web'),
  },
});
const browser = await launch();
let result;
try {
  const page = await open(browser.context, `${server.url}/bench.html`);
  await page.waitForFunction(() => window.benchReady === true);
  result = await page.evaluate(async ({ RUNS, WARMUP }) => {
    const { dk, imageCompression, Compressor } = window;
    const MAX = 1280;
    const Q = 0.85;
    const loadImage = (src) => new Promise((ok, ko) => {
      const img = new Image();
      img.onload = () => ok(img);
      img.onerror = ko;
      img.src = src;
    });
    const frameImg = await loadImage('/fx/frame_1080.png');
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
    // Its worker loads the library from a CDN unless told where it is.
    const libURL = `${location.origin}/nm/browser-image-compression/dist/browser-image-compression.js`;
    const bic = (useWebWorker) => async (file) => {
      const b = await imageCompression(file, {
        maxWidthOrHeight: MAX, initialQuality: Q, useWebWorker, libURL, fileType: 'image/jpeg',
      });
      return { bytes: b.size, b64: await toBase64(b) };
    };
    const ours = (src, extra) => async () => {
      const r = await dk.prepareSelfie(src, { maxDimension: MAX, quality: Q, ...extra });
      return { bytes: r.bytes, b64: r.base64 };
    };

    // [input, name, run, native?, ours?]
    const cases = [
      ['frame', 'dukcapil-facematch (ImageData, quality gate on)', ours(frame), false, true],
      ['frame', 'dukcapil-facematch (ImageData, checks: false)', ours(frame, { checks: false }), false, false],
      ['frame', 'native: putImageData + drawImage + toBlob', async () => {
        const c = document.createElement('canvas');
        c.width = frame.width;
        c.height = frame.height;
        c.getContext('2d').putImageData(frame, 0, 0);
        return drawEncode(c, frame.width, frame.height);
      }, true, false],
      ['frame', 'native: createImageBitmap(ImageData) + drawImage + toBlob', async () => {
        const b = await createImageBitmap(frame);
        const r = await drawEncode(b, b.width, b.height);
        b.close();
        return r;
      }, true, false],
      ['frame', 'browser-image-compression 2.0.2 (PNG Blob, no worker)', () => bic(false)(framePngFile), false, false],
      ['frame', 'browser-image-compression 2.0.2 (PNG Blob, web worker)', () => bic(true)(framePngFile), false, false],
      ['frame', 'compressorjs 1.3.0 (PNG Blob)', () => compressor(framePngFile), false, false],
      ['file', 'dukcapil-facematch (File, quality gate on)', ours(photoFile), false, true],
      ['file', 'native: <img> + drawImage + toBlob', async () => {
        const url = URL.createObjectURL(photo);
        try {
          const img = await loadImage(url);
          return await drawEncode(img, img.naturalWidth, img.naturalHeight);
        } finally {
          URL.revokeObjectURL(url);
        }
      }, true, false],
      ['file', 'native: createImageBitmap(blob) + drawImage + toBlob', async () => {
        const b = await createImageBitmap(photo);
        const r = await drawEncode(b, b.width, b.height);
        b.close();
        return r;
      }, true, false],
      ['file', 'browser-image-compression 2.0.2 (no worker)', () => bic(false)(photoFile), false, false],
      ['file', 'browser-image-compression 2.0.2 (web worker)', () => bic(true)(photoFile), false, false],
      ['file', 'compressorjs 1.3.0', () => compressor(photoFile), false, false],
    ];

    // Every main-thread task over 50 ms, attributed to the run whose window it overlaps.
    const longTasks = [];
    new PerformanceObserver((list) => longTasks.push(...list.getEntries()))
      .observe({ type: 'longtask', buffered: true });
    const settle = () => new Promise((ok) => setTimeout(ok, 20));

    // Round-robin, so JIT tier-up, GC and thermal drift hit every method alike.
    const times = cases.map(() => []);
    const windows = cases.map(() => []);
    const last = [];
    for (let round = 0; round < WARMUP + RUNS; round++) {
      for (let i = 0; i < cases.length; i++) {
        await settle();
        const t0 = performance.now();
        last[i] = await cases[i][2]();
        const t1 = performance.now();
        if (round >= WARMUP) {
          times[i].push(t1 - t0);
          windows[i].push([t0, t1]);
        }
      }
    }
    await settle();
    const longestTask = (i) => {
      let max = 0;
      for (const e of longTasks) {
        const end = e.startTime + e.duration;
        if (windows[i].some(([a, b]) => e.startTime < b && end > a)) max = Math.max(max, e.duration);
      }
      return max;
    };
    const median = (v) => {
      const t = [...v].sort((a, b) => a - b);
      return t[Math.floor(t.length / 2)];
    };
    const rows = cases.map(([input, name, , native, isOurs], i) => ({
      input, name, native, ours: isOurs,
      ms: median(times[i]),
      bytes: last[i].bytes,
      ok: last[i].b64.startsWith('/9j/'),
      longestTask: longestTask(i),
    }));

    // Where our time goes: the same module built with per-stage timings.
    const staged = await import('/pkg-stages/index.js');
    const stages = {};
    // The third: the frame under a 100 KB budget, so the size search has work to do.
    const stageInputs = [['frame', frame, {}], ['file', photoFile, {}], ['search', frame, { maxBytes: 100_000 }]];
    for (const [input, src, extra] of stageInputs) {
      const runs = [];
      for (let i = 0; i < WARMUP + RUNS; i++) {
        await settle();
        const t0 = performance.now();
        const r = await staged.prepareSelfie(src, { maxDimension: MAX, quality: Q, ...extra });
        const total = performance.now() - t0;
        if (i >= WARMUP) runs.push({ ...r.stages, total });
      }
      const keys = Object.keys(runs[0]);
      stages[input] = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k] ?? 0))]));
    }
    return { rows, stages, ua: navigator.userAgent };
  }, { RUNS, WARMUP });
} finally {
  await browser.close();
  await server.close();
}

const gz = (buf) => zlib.gzipSync(buf, { level: 9 }).length;
// JS as an app ships it: bundled and minified (the .wasm stays a separate asset).
const bundled = await build({
  entryPoints: [path.join(PKG, 'index.js')], bundle: true, minify: true, format: 'esm', write: false,
});
const jsGz = gz(bundled.outputFiles[0].contents);
const wasmGz = gz(fs.readFileSync(path.join(PKG, 'dukcapil_web_bg.wasm')));

const { rows, stages, ua } = result;
const chrome = (ua.match(/Chrome\/(\d+)/) || [])[1] || '?';
console.log(`\nheadless Chromium ${chrome}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`);
console.log(`median of ${RUNS} runs after ${WARMUP} warm-ups, round-robin (includes base64)`);
console.log(`load average (1 / 5 / 15 min): ${loadBefore} before, ${load()} after`);
const label = {
  frame: '1920×1080 ImageData → ≤1280 JPEG q0.85',
  file: '4032×3024 JPEG file (2.2 MB) → ≤1280 JPEG q0.85',
};
const fmtTask = (ms) => (ms > 0 ? ms.toFixed(0) : '< 50');
for (const input of ['frame', 'file']) {
  const mine = rows.filter((r) => r.input === input);
  const fastestNative = Math.min(...mine.filter((r) => r.native).map((r) => r.ms));
  const ourMs = mine.find((r) => r.ours).ms;
  console.log(`\n${label[input]}`);
  console.log('| method | median ms | output bytes | × fastest native | × ours | longest main-thread task ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of mine) {
    const flag = r.ok ? '' : ' (NOT A JPEG)';
    const name = r.ours ? `**${r.name}**` : r.name;
    console.log(`| ${name}${flag} | ${r.ms.toFixed(1)} | ${r.bytes.toLocaleString('en')} | ${(r.ms / fastestNative).toFixed(2)} | ${(r.ms / ourMs).toFixed(2)} | ${fmtTask(r.longestTask)} |`);
  }
}

// Stage names as the stage-timing build reports them, in pipeline order.
const STAGES = [
  ['inspect', 'file checks: head, declared size, JPEG end marker'],
  ['decode', 'files: browser decode (ImageDecoder, reduced DCT scale), copied into wasm'],
  ['copy', 'frames: pixels into wasm (ImageData → wasm memory)'],
  ['convert', 'colour conversion RGBA/BGRX → YCbCr 4:2:0'],
  ['resize', 'resize (Catmull-Rom, planar)'],
  ['measure', 'quality gate measures (exposure, sharpness)'],
  ['faces', 'FaceDetector (where the browser has one)'],
  ['yield', 'yielding to the event loop (3 times for an ImageData, 4 for a file)'],
  ['dct', 'forward DCT'],
  ['encode', 'quantization + Huffman coding (all attempts of the size search)'],
  ['base64', 'base64 + result object'],
];
const cols = ['frame', 'file', 'search'];
console.log('\nwhere our time goes (stage-timing build, medians)');
console.log('| stage | frame ms | file ms | frame, maxBytes 100 KB ms |');
console.log('|---|---:|---:|---:|');
for (const [key, what] of STAGES) {
  const v = cols.map((c) => stages[c][key] ?? 0);
  if (v.every((x) => x === 0)) continue;
  console.log(`| ${what} | ${v.map((x) => x.toFixed(1)).join(' | ')} |`);
}
const sum = (s) => STAGES.reduce((a, [k]) => a + (s[k] ?? 0), 0);
console.log(`| sum of stages | ${cols.map((c) => sum(stages[c]).toFixed(1)).join(' | ')} |`);
console.log(`| total (stage-timing build) | ${cols.map((c) => stages[c].total.toFixed(1)).join(' | ')} |`);
console.log(`| encodes (size search attempts) | ${cols.map((c) => stages[c].encodeCount ?? 1).join(' | ')} |`);
console.log(`\nquality gate cost (measures on the output-size luma): ${stages.frame.measure.toFixed(2)} ms at 1280×720, ${stages.file.measure.toFixed(2)} ms at 1280×960`);
console.log(`\nour module, gzip -9: JS ${(jsGz / 1024).toFixed(1)} KB (bundled, minified) + wasm ${(wasmGz / 1024).toFixed(1)} KB = ${((jsGz + wasmGz) / 1024).toFixed(1)} KB`);
