// Shared helpers for the browser tests and the benchmark: a loopback static server and a
// headless Chromium driven by playwright-core (it cannot download its own browser here).
import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PKG = path.join(ROOT, 'crates/dukcapil-web/pkg');
// The committed test photos (see tests/fixtures/README.md).
export const FIXTURES = path.join(ROOT, 'tests/fixtures');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.css': 'text/css',
};

/**
 * Serves `mounts` ({ '/prefix/': '/dir' }) and `routes` ({ 'METHOD /path': handler }) on
 * 127.0.0.1 at a free port. Returns { url, close }.
 */
export async function serve({ mounts = {}, routes = {} } = {}) {
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const route = routes[`${req.method} ${url.pathname.replace(/\/+$/, '')}`]
        || routes[`${req.method} ${url.pathname}`] || routes[`* ${url.pathname.replace(/\/+$/, '')}`];
      if (route) return await route(req, res, url);
      for (const [prefix, dir] of Object.entries(mounts)) {
        if (!url.pathname.startsWith(prefix)) continue;
        const rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
        const file = path.join(dir, rel);
        if (!file.startsWith(dir)) break;
        const st = await fsp.stat(file).catch(() => null);
        if (!st || !st.isFile()) break;
        res.writeHead(200, {
          'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
          'cache-control': 'no-store',
        });
        fs.createReadStream(file).pipe(res);
        return;
      }
      res.writeHead(404).end('not found');
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

/** Headless Chromium with a fresh profile. */
export async function launch(extraArgs = []) {
  const userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dukcapil-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      ...extraArgs,
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await fsp.rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Opens `url` and forwards page errors to the test output (never page contents). */
export async function open(context, url) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  return page;
}
