// Makes Chromium's fake-camera file from tests/fixtures/astronaut.png without ffmpeg: Chromium
// itself decodes and lays out the frame (720×720 face, padded to 1280×720), we write I420.
// Same picture as the fixtures README's ffmpeg command. Usage: node make-y4m.mjs OUT.y4m
import fsp from 'node:fs/promises';
import path from 'node:path';
import { serve, launch, open, FIXTURES } from './lib.mjs';

const out = process.argv[2];
if (!out) throw new Error('usage: node make-y4m.mjs OUT.y4m');
const W = 1280;
const H = 720;
const server = await serve({ mounts: { '/fx/': FIXTURES }, routes: { 'GET /': (q, r) => r.end('<!doctype html>') } });
const browser = await launch();
try {
  const page = await open(browser.context, `${server.url}/`);
  const rgba = Buffer.from(await page.evaluate(async ({ W, H }) => {
    const img = new Image();
    img.src = '/fx/astronaut.png';
    await img.decode();
    const c = new OffscreenCanvas(W, H);
    const x = c.getContext('2d');
    x.fillStyle = '#000';
    x.fillRect(0, 0, W, H);
    x.drawImage(img, (W - H) / 2, 0, H, H);
    const d = x.getImageData(0, 0, W, H).data;
    let s = '';
    for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode(...d.subarray(i, i + 0x8000));
    return btoa(s);
  }, { W, H }), 'base64');
  // BT.601 limited range, 4:2:0 with 2×2 averaged chroma.
  const Y = Buffer.alloc(W * H);
  const U = Buffer.alloc((W / 2) * (H / 2));
  const V = Buffer.alloc((W / 2) * (H / 2));
  for (let i = 0; i < W * H; i++) {
    const r = rgba[i * 4], g = rgba[i * 4 + 1], b = rgba[i * 4 + 2];
    Y[i] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
  }
  for (let y = 0; y < H / 2; y++) {
    for (let x = 0; x < W / 2; x++) {
      let r = 0, g = 0, b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = ((y * 2 + dy) * W + x * 2 + dx) * 4;
        r += rgba[p]; g += rgba[p + 1]; b += rgba[p + 2];
      }
      r /= 4; g /= 4; b /= 4;
      U[y * (W / 2) + x] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
      V[y * (W / 2) + x] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
    }
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), Y, U, V]);
  // Two frames: Chromium loops the file.
  const header = Buffer.from(`YUV4MPEG2 W${W} H${H} F15:1 Ip A1:1 C420jpeg\n`);
  await fsp.mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await fsp.writeFile(out, Buffer.concat([header, frame, frame]));
} finally {
  await browser.close();
  await server.close();
}
