// End-to-end harness: the Worker under `wrangler dev --env demo` (the real workerd runtime),
// the reference backend (examples/backend-node, serving the demo page and minting tokens, as
// `cargo xtask demo` runs it), the HyperVerge contract double from the proxy tests, and
// headless Chromium with a fake camera.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mint as proxyMint, receiptKey } from '../proxy/harness.mjs';
import { createBackend } from '../../examples/backend-node/server.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OUT = path.join(ROOT, 'target/e2e');
export const SCREENSHOTS = path.join(OUT, 'screenshots');
export { launch } from '../web/lib.mjs';
export { FIXTURES } from '../web/lib.mjs';
export { startDouble } from '../proxy/hyperverge-double.mjs';

// Fake secrets, distinctive so a leak scan cannot miss them.
export const APP_ID = 'e2e-app-id-51c9';
export const APP_KEY = 'e2e-app-key-SECRET-d81f03';
export const JWT_SECRET = 'e2e-jwt-secret-SECRET-77aa10-0123456789';
/** The Worker's receipt signing key for this run (a private JWK). */
export const RECEIPT_KEY = await receiptKey();

export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/**
 * Starts `wrangler dev --env demo` on a free loopback port, with `vars` (secrets included, as
 * --var) over the environment's own, and never a developer's `.dev.vars`.
 * Returns { url, logs, stop }. `logs` collects everything wrangler and the Worker print.
 */
export async function startWrangler(varsFor) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const vars = varsFor(url);
  // An env file of our own (empty) keeps wrangler from reading .dev.vars.
  await fsp.mkdir(OUT, { recursive: true });
  const noSecrets = path.join(OUT, 'no-secrets.env');
  await fsp.writeFile(noSecrets, '');
  const args = [
    // wrangler.toml's demo environment, as `cargo xtask demo` runs it.
    'dev', '--env', 'demo', '--ip', '127.0.0.1', '--port', String(port),
    '--env-file', noSecrets,
    '--show-interactive-dev-session=false',
    '--persist-to', path.join(ROOT, 'target/wrangler-state/e2e'),
    '--inspector-port', String(await freePort()),
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const child = spawn(path.join(ROOT, 'node_modules/.bin/wrangler'), args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      XDG_CONFIG_HOME: path.join(ROOT, 'target/wrangler-config'),
      NO_COLOR: '1',
      // cargo xtask built the Worker and the package: wrangler's [build] command skips.
      DUKCAPIL_PREBUILT: '1',
    },
  });
  const logs = [];
  let ready;
  const isReady = new Promise((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`wrangler dev exited (${code}):\n${logs.join('')}`)));
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      logs.push(chunk);
      if (logs.join('').includes('Ready on')) ready();
    });
  }
  const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
  await isReady;
  clearTimeout(timer);
  return {
    url,
    logs,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Chromium's fake-camera file, made once from the astronaut photo (no ffmpeg needed). */
export async function fakeCamera() {
  const y4m = path.join(OUT, 'face.y4m');
  if (!fs.existsSync(y4m)) {
    await fsp.mkdir(OUT, { recursive: true });
    await new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [path.join(ROOT, 'tests/web/make-y4m.mjs'), y4m], { stdio: 'inherit' });
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`make-y4m exited ${code}`))));
    });
  }
  return y4m;
}

/**
 * The reference backend (examples/backend-node) on `port`, serving www/ and minting tokens
 * for the Worker at `proxyUrl`, as `cargo xtask demo` runs it. Returns { url, records, close }.
 */
export async function startBackend({ port, proxyUrl, allowSandbox = false }) {
  const backend = createBackend({ secret: JWT_SECRET, proxyUrl, allowSandbox, staticDir: path.join(ROOT, 'www') });
  const url = await backend.listen(port);
  return { url, records: backend.records, sessions: backend.sessions, close: () => backend.close() };
}

/** A caller token as the backend mints it (the proxy tests' minting). */
export const mint = ({ nik, txn, ttl = 300, iatOffset = 0 }) =>
  proxyMint({ nik, txn, ttl, iatOffset, sub: 'demo-user', iss: 'example-backend', secret: JWT_SECRET });

export async function screenshot(page, name) {
  await fsp.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
