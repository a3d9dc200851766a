// `cargo xtask bench proxy`: the proxy Worker under load, on loopback only.
//
// For a 200 KB and a 2 MB selfie it sends the same bounded load (N requests, C at a time, HTTP
// keep-alive) three ways, in one run:
//   direct        straight to the HyperVerge double (the baseline for added latency)
//   proxy         build/ (our Rust Worker) under Miniflare, i.e. workerd, then the double
//   pass-through  tests/bench/passthrough.mjs (validates nothing) under the same runtime
// and prints a Markdown table: requests/s, p50/p99 latency and what each Worker adds over
// calling the double directly, workerd CPU ms per request (from /proc/<pid>/stat of the workerd
// process, before and after the measured requests), and the bundle size gzipped.
//
// Miniflare is what `wrangler dev` runs (the same package and workerd binary), minus wrangler's
// own dev-proxy workerd and inspector in front, so the CPU counted is the Worker's runtime only.
// This is a benchmark, not a test: it fails only when requests fail, never on timings.

import { Miniflare } from 'miniflare';
import { mint } from '../proxy/harness.mjs';
import { fork, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const BUILD = process.env.PROXY_BUILD_DIR ?? path.join(ROOT, 'build');

const APP_ID = 'bench-app-id';
const APP_KEY = 'bench-app-key-not-a-secret';
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';
const NIK = '3273010101904242'; // serial 4242: the double answers "match"
const PATH = '/v1/dukcapilWithFacematch';
// Well above anything the bench sends: the limits are not what is being measured.
const LIMITS = {
  IP_RATE_LIMITER: { simple: { limit: 1_000_000, period: 60 } },
  SUBJECT_RATE_LIMITER: { simple: { limit: 1_000_000, period: 60 } },
};

const int = (name, dflt) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
// Bounded loads. Override with BENCH_* for a longer run; every loop below is bounded by these.
const LOADS = [
  { label: '200 KB', bytes: 200_000, n: int('BENCH_N_200KB', 400), c: int('BENCH_C_200KB', 8), warmup: 30 },
  { label: '2 MB', bytes: 2_000_000, n: int('BENCH_N_2MB', 80), c: int('BENCH_C_2MB', 4), warmup: 8 },
];
const REQUEST_TIMEOUT_MS = 30_000;
const DEADLINE = Date.now() + int('BENCH_MAX_SECONDS', 240) * 1000;

// ---- inputs ------------------------------------------------------------------------------

/** A JPEG SOI/APP0 marker followed by random bytes: all the proxy looks at is the magic bytes,
 * canonical base64 and the decoded size, so a real photo would cost it exactly the same. */
function selfie(bytes) {
  const b = randomBytes(bytes);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
}

/** One fresh HS256 token per request, minted before the clock starts. */
async function tokens(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(await mint({ nik: NIK, sub: `bench-${i}`, ttl: 900, secret: JWT_SECRET }));
  }
  return out;
}

// ---- the double, in its own process -------------------------------------------------------

async function startDoubleProcess() {
  const child = fork(path.join(HERE, 'double-server.mjs'), [], {
    env: { ...process.env, BENCH_APP_ID: APP_ID, BENCH_APP_KEY: APP_KEY },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`the double exited (${code})`)));
  });
  return {
    url,
    stats: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m.stats));
        child.send('stats');
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        child.send('stop');
      }),
  };
}

// ---- workerd CPU time ----------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function procStat(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [ppid, utime, stime] = ((f) => [f[1], f[11], f[12]].map(Number))(s.slice(s.lastIndexOf(')') + 2).split(' '));
  return { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ppid, ticks: utime + stime };
}

/** The workerd processes below this one (Miniflare spawns one per instance). */
function workerdPids() {
  const all = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      all.set(Number(d), procStat(d));
    } catch {
      // exited meanwhile
    }
  }
  const below = (pid) => {
    for (let p = all.get(pid)?.ppid; p; p = all.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  return [...all].filter(([pid, s]) => s.comm === 'workerd' && below(pid)).map(([pid]) => pid);
}

/** CPU milliseconds (user + system, all threads) of the given processes so far. */
const cpuMs = (pids) => pids.reduce((sum, pid) => sum + (procStat(pid).ticks * 1000) / CLK_TCK, 0);

// ---- the load generator --------------------------------------------------------------------

function post(agent, url, body, headers) {
  const { hostname, port } = new URL(url);
  if (hostname !== '127.0.0.1') throw new Error(`refusing to load ${hostname}: loopback only`);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(
      { host: hostname, port, path: PATH, method: 'POST', agent, timeout: REQUEST_TIMEOUT_MS, headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** `n` requests, `c` in flight, over keep-alive connections. Returns latencies and wall time. */
async function load(url, { n, c }, body, tokenList, check, extraHeaders = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const latencies = [];
  const failures = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (next < n && Date.now() < DEADLINE) {
      const i = next++;
      const headers = { ...extraHeaders, transactionId: `bench-${i}` };
      if (tokenList) headers.authorization = `Bearer ${tokenList[i]}`;
      const res = await post(agent, url, body, headers);
      latencies.push(res.ms);
      const problem = check(res);
      if (problem && failures.length < 3) failures.push(problem);
      else if (problem) failures.push('');
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  agent.destroy();
  if (latencies.length < n) throw new Error(`the ${Math.round((DEADLINE - Date.now()) / 1000)} s bench deadline passed`);
  if (failures.length) throw new Error(`${failures.length} of ${n} requests failed, e.g. ${failures.filter(Boolean).join(' | ')}`);
  return { latencies, wallMs };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

const okDouble = (res) => {
  try {
    return res.status === 200 && JSON.parse(res.text).status === 'success' ? null : `${res.status} ${res.text.slice(0, 120)}`;
  } catch {
    return `${res.status} ${res.text.slice(0, 120)}`;
  }
};
const okProxy = (res) => {
  try {
    return res.status === 200 && JSON.parse(res.text).result?.details?.match === true ? null : `${res.status} ${res.text.slice(0, 120)}`;
  } catch {
    return `${res.status} ${res.text.slice(0, 120)}`;
  }
};

// ---- runtimes -------------------------------------------------------------------------------

async function startWorker(kind, doubleUrl) {
  const common = {
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port: 0,
    handleStructuredLogs: () => {}, // the proxy still writes its log line; we drop it here
  };
  const opts =
    kind === 'proxy'
      ? {
          ...common,
          modules: true,
          scriptPath: path.join(BUILD, 'index.js'),
          modulesRoot: BUILD,
          modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
          bindings: { HV_BASE_URL: doubleUrl, HV_APP_ID: APP_ID, HV_APP_KEY: APP_KEY, PROXY_JWT_SECRET: JWT_SECRET, ALLOWED_ORIGINS: '', UPSTREAM_TIMEOUT_MS: '15000' },
          ratelimits: LIMITS,
        }
      : {
          ...common,
          modules: true,
          scriptPath: path.join(HERE, 'passthrough.mjs'),
          modulesRoot: HERE,
          bindings: { HV_BASE_URL: doubleUrl, HV_APP_ID: APP_ID, HV_APP_KEY: APP_KEY },
        };
  const before = new Set(workerdPids());
  const mf = new Miniflare(opts);
  const url = (await mf.ready).href.replace(/\/$/, '');
  const pids = workerdPids().filter((p) => !before.has(p));
  if (pids.length === 0) throw new Error(`no workerd process found for the ${kind} Worker`);
  return { mf, url, pids };
}

// ---- bundle size ----------------------------------------------------------------------------

function gz(file) {
  // the same measure as `cargo xtask`'s budget check (crates/xtask/src/proxy.rs)
  return execFileSync('gzip', ['-9c', file], { maxBuffer: 64 << 20 }).length;
}

// ---- the run --------------------------------------------------------------------------------

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const signed = (x, d = 2) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(d)}` : '–');

async function main() {
  const wasm = path.join(BUILD, 'index_bg.wasm');
  const js = path.join(BUILD, 'index.js');
  for (const f of [wasm, js]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the proxy first (cargo xtask bench proxy does)`);

  const double = await startDoubleProcess();
  const results = {}; // results[label][target] = { rps, p50, p99, cpu }
  const violations = [];
  try {
    const inputs = LOADS.map((l) => {
      const image = selfie(l.bytes).toString('base64');
      return { ...l, body: Buffer.from(JSON.stringify({ id: NIK, image })) };
    });
    const maxN = Math.max(...LOADS.map((l) => l.n + l.warmup));
    const tokenList = await tokens(maxN);
    for (const l of inputs) results[l.label] = {};

    const measure = async (target, url, pids, l, check, withTokens) => {
      // Called directly, the double needs the credentials the Workers add.
      const extra = target === 'direct' ? { appId: APP_ID, appKey: APP_KEY } : {};
      process.stdout.write(`  ${target.padEnd(12)} ${l.label.padEnd(6)} ${l.n} requests, ${l.c} at a time … `);
      const toks = withTokens ? tokenList : null;
      await load(url, { n: l.warmup, c: l.c }, l.body, toks, check, extra);
      await double.stats(); // forget the warm-up's requests
      const cpu0 = pids.length ? cpuMs(pids) : 0;
      const { latencies, wallMs } = await load(url, { n: l.n, c: l.c }, l.body, toks && toks.slice(l.warmup), check, extra);
      const cpu = pids.length ? (cpuMs(pids) - cpu0) / l.n : NaN;
      const stats = await double.stats();
      if (stats.requests !== l.n) throw new Error(`the double saw ${stats.requests} requests, expected ${l.n}`);
      if (target === 'proxy') violations.push(...stats.violations);
      const r = { rps: (l.n * 1000) / wallMs, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), cpu };
      results[l.label][target] = r;
      console.log(`${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50)} ms${Number.isFinite(cpu) ? `, CPU ${fmt(cpu)} ms/req` : ''}`);
    };

    console.log(`double: ${double.url}`);
    for (const l of inputs) await measure('direct', double.url, [], l, okDouble, false);
    for (const kind of ['proxy', 'pass-through']) {
      const w = await startWorker(kind === 'proxy' ? 'proxy' : 'passthrough', double.url);
      try {
        // workerd's idle CPU, to show it is not what is being counted
        const idle0 = cpuMs(w.pids);
        await new Promise((r) => setTimeout(r, 500));
        const idle = cpuMs(w.pids) - idle0;
        console.log(`${kind}: ${w.url} (workerd pid ${w.pids.join(', ')}, ${fmt(idle, 0)} ms CPU idle over 0.5 s)`);
        for (const l of inputs) await measure(kind, w.url, w.pids, l, kind === 'proxy' ? okProxy : okDouble, kind === 'proxy');
      } finally {
        await w.mf.dispose();
      }
    }
  } finally {
    await double.stop();
  }

  // ---- report ----
  const wasmGz = gz(wasm);
  const jsGz = gz(js);
  const bundleGz = wasmGz + jsGz;
  const rows = [];
  const verdicts = [];
  const cpuTarget = { '200 KB': 1, '2 MB': 4 };
  for (const l of LOADS) {
    const d = results[l.label].direct;
    for (const target of ['direct', 'proxy', 'pass-through']) {
      const r = results[l.label][target];
      const added = target === 'direct' ? ['–', '–'] : [signed(r.p50 - d.p50), signed(r.p99 - d.p99)];
      const vsPt = target === 'proxy' ? `${fmt(r.cpu / results[l.label]['pass-through'].cpu)}×` : '–';
      rows.push(`| ${l.label} | ${target === 'direct' ? 'double, direct' : target} | ${l.n} @ ${l.c} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${added[0]} | ${added[1]} | ${target === 'direct' ? '–' : fmt(r.cpu)} | ${vsPt} |`);
    }
    const p = results[l.label].proxy;
    const ratio = p.cpu / results[l.label]['pass-through'].cpu;
    verdicts.push(`- ${l.label}: proxy CPU ${fmt(p.cpu)} ms/request, target ≤ ${cpuTarget[l.label]} ms: ${p.cpu <= cpuTarget[l.label] ? 'met' : 'NOT met'}`);
    verdicts.push(`- ${l.label}: proxy CPU ${fmt(ratio)}× the pass-through's, target ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'NOT met'}`);
  }
  verdicts.push(`- bundle ${fmt(bundleGz / 1024, 1)} KiB gzipped (wasm ${fmt(wasmGz / 1024, 1)} KiB + JS ${fmt(jsGz / 1024, 1)} KiB), target ≤ 250 KiB: ${bundleGz <= 250 * 1024 ? 'met' : 'NOT met'}`);

  const cpuModel = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
  const workerdVersion = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/miniflare/package.json'), 'utf8')).version;
  console.log(`
| selfie | target | requests @ concurrency | req/s | p50 ms | p99 ms | p50 added ms | p99 added ms | workerd CPU ms/req | CPU vs pass-through |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Bundle: ${path.relative(ROOT, wasm)} ${fs.statSync(wasm).size} bytes (${wasmGz} gzipped) + ${path.relative(ROOT, js)} ${fs.statSync(js).size} bytes (${jsGz} gzipped) = ${bundleGz} bytes gzipped (gzip -9).

${verdicts.join('\n')}

Measured on loopback: ${LOADS.length * 3} runs in one process, Node ${process.version}, miniflare ${workerdVersion} (workerd), ${cpuModel}, ${execFileSync('nproc').toString().trim()} CPUs.
Selfies are a JPEG marker followed by random bytes (the proxy checks magic bytes, base64 and size, never pixels), sent as JSON base64 with a fresh HS256 token per proxy request.
"added" is the Worker's p50/p99 minus the double's own, called directly with the same load. CPU is workerd's user + system time over the measured requests (warm-up excluded), so it includes HTTP parsing and copying in the runtime, which Cloudflare's CPU limit does not count.${violations.length ? `\n\nWARNING: the double saw contract violations from the proxy: ${violations.join(' | ')}` : ''}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench failed: ${e.stack ?? e}`);
    process.exit(1);
  },
);
