// `cargo xtask bench proxy`: the proxy Worker under load, on loopback only.
//
// For a 200 KB and a 2 MB selfie, in alternating rounds (so that other load on the machine
// falls on every target alike), it sends the same bounded load to:
//   direct        the HyperVerge double itself (the baseline for added latency)
//   proxy         build/ (our Rust Worker) under Miniflare, i.e. workerd, then the double
//   pass-through  tests/bench/passthrough.mjs: streams the body on and checks nothing
//   buffered      tests/bench/buffered.mjs: reads the body into memory first, checks nothing:
//                 the floor of any Worker that checks a body before forwarding it
//   proxy, ledger in memory   the same build, its LEDGER binding replaced in the isolate by an
//                 object that answers "claimed" and "settled" at once: no Durable Object call,
//                 no storage. The proxy minus this is what the transaction ledger adds (two
//                 Durable Object round trips and their SQLite writes, per verification).
// and, on the proxy, three requests that stop early, for a per-stage breakdown of its CPU: one
// refused before its body is read (`text/plain`: routing, the token, the rate limiter, the
// answer and the log line), one refused right after the body checks (a token bound to another
// NIK), and one the upstream refuses with a 503 (which gets no receipt: the difference to a
// verdict is the receipt's signing, in WebCrypto, and its bytes in the answer). CPU is
// workerd's user + system time from /proc/<pid>/stat around each batch, summed over
// the rounds (the clock ticks in 10 ms steps, so one round alone would be coarse); the spread of
// the per-round ratios is printed too. Then it measures memory: 16 concurrent 2 MB requests
// against a fresh proxy, with the isolate's JS heap and array buffers sampled through the V8
// inspector every few milliseconds and the wasm linear memory read from the log lines.
//
// Miniflare is what `wrangler dev` runs (the same package and workerd binary), minus wrangler's
// own dev-proxy workerd and inspector in front. This is a benchmark, not a test: it fails only
// when requests fail, never on timings. Needs Node's WebSocket (`--experimental-websocket` on
// Node 20; xtask passes it).

import { Miniflare } from 'miniflare';
import { mint, receiptKey } from '../proxy/harness.mjs';
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
const OTHER_NIK = '3273010101904243';
const PATH = '/v1/dukcapilWithFacematch';
// Well above anything the bench sends: the limits are not what is being measured.
const LIMITS = {
  IP_RATE_LIMITER: { simple: { limit: 1_000_000, period: 60 } },
  SUBJECT_RATE_LIMITER: { simple: { limit: 1_000_000, period: 60 } },
  NIK_RATE_LIMITER: { simple: { limit: 1_000_000, period: 60 } },
};
const RECEIPT_KEY = await receiptKey();

const int = (name, dflt) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
// Bounded loads. Override with BENCH_* for a longer run; every loop below is bounded by these.
const LOADS = [
  { label: '200 KB', bytes: 200_000, n: int('BENCH_N_200KB', 80), c: int('BENCH_C_200KB', 8) },
  { label: '2 MB', bytes: 2_000_000, n: int('BENCH_N_2MB', 32), c: int('BENCH_C_2MB', 4) },
];
const ROUNDS = int('BENCH_ROUNDS', 8);
const MEMORY = { concurrency: 16, requests: int('BENCH_MEMORY_REQUESTS', 96), limitMb: 64 };
const TARGETS = { ratio: 1.5, bundleKiB: 250 };
const REQUEST_TIMEOUT_MS = 30_000;
const DEADLINE = Date.now() + int('BENCH_MAX_SECONDS', 420) * 1000;

// ---- inputs ------------------------------------------------------------------------------

/** A JPEG SOI/APP0 marker followed by random bytes: all the proxy looks at is the magic bytes,
 * canonical base64 and the decoded size, so a real photo would cost it exactly the same. */
function selfie(bytes) {
  const b = randomBytes(bytes);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
}

/** Fresh HS256 caller tokens, one per request (for transaction `${prefix}-${i}`), minted
 * before any clock starts. */
async function tokens(count, nik, prefix) {
  const out = [];
  for (let i = 0; i < count; i++) out.push(await mint({ nik, txn: `${prefix}-${i}`, sub: `${prefix}-${i}`, ttl: 900, secret: JWT_SECRET }));
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
    behave: (behave) =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send({ behave });
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
    const h = { ...headers };
    if (body) h['content-length'] = body.length;
    const req = http.request({ host: hostname, port, path: PATH, method: 'POST', agent, timeout: REQUEST_TIMEOUT_MS, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** `n` requests, `c` in flight, over keep-alive connections. */
async function load(url, { n, c }, makeRequest, check) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const latencies = [];
  const failures = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (next < n && Date.now() < DEADLINE) {
      const { body, headers } = makeRequest(next++);
      const res = await post(agent, url, body, headers);
      latencies.push(res.ms);
      const problem = check(res);
      if (problem) failures.push(problem);
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  agent.destroy();
  if (latencies.length < n) throw new Error(`the ${Math.round((DEADLINE - Date.now()) / 1000)} s bench deadline passed`);
  if (failures.length) throw new Error(`${failures.length} of ${n} requests failed, e.g. ${failures.slice(0, 3).join(' | ')}`);
  return { latencies, wallMs };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

const expect = (status, pred = () => true) => (res) => {
  try {
    return res.status === status && pred(JSON.parse(res.text)) ? null : `${res.status} ${res.text.slice(0, 120)}`;
  } catch {
    return `${res.status} ${res.text.slice(0, 120)}`;
  }
};
const okDouble = expect(200, (j) => j.status === 'success');
const okProxy = expect(200, (j) => j.result?.details?.match === true);

// ---- runtimes -------------------------------------------------------------------------------

// The proxy with its ledger answered in the isolate (for the ledger's added cost only).
const LEDGER_IN_MEMORY = `
import Proxy from './index.js';
export { TransactionLedger } from './index.js';
const answer = (request) => ('claim' in JSON.parse(request) ? '{"claimed":{"attempt":1}}' : '"settled"');
const LEDGER = {
  idFromName: (name) => name,
  get: () => ({ fetch: async (_url, init) => new Response(answer(init.body)) }),
};
export default class extends Proxy {
  constructor(ctx, env) {
    super(ctx, { ...env, LEDGER });
  }
}
`;

async function startWorker(kind, doubleUrl, extra = {}) {
  const common = {
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port: 0,
    modules: true,
    handleStructuredLogs: () => {}, // the proxy still writes its log line; dropped here
    ...extra,
  };
  const inMemory = kind === 'proxy-ledger-in-memory';
  const opts =
    kind === 'proxy' || inMemory
      ? {
          ...common,
          ...(inMemory
            ? {
                modules: [
                  { type: 'ESModule', path: path.join(BUILD, 'ledger-in-memory.mjs'), contents: LEDGER_IN_MEMORY },
                  { type: 'ESModule', path: path.join(BUILD, 'index.js') },
                  { type: 'CompiledWasm', path: path.join(BUILD, 'index_bg.wasm') },
                ],
              }
            : { scriptPath: path.join(BUILD, 'index.js'), modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }] }),
          modulesRoot: BUILD,
          // The transaction ledger, as wrangler.toml declares it.
          durableObjects: { LEDGER: { className: 'TransactionLedger', useSQLite: true } },
          bindings: {
            HV_BASE_URL: doubleUrl, HV_APP_ID: APP_ID, HV_APP_KEY: APP_KEY, PROXY_JWT_SECRET: JWT_SECRET,
            RECEIPT_SIGNING_KEY: RECEIPT_KEY, ALLOWED_ORIGINS: '', UPSTREAM_TIMEOUT_MS: '15000',
          },
          ratelimits: LIMITS,
        }
      : {
          ...common,
          scriptPath: path.join(HERE, `${kind}.mjs`),
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

// ---- memory ---------------------------------------------------------------------------------

/** The proxy's isolate under 16 concurrent 2 MB requests: sampled JS heap + array buffers, and
 * the wasm linear memory (which never shrinks) from the log lines. */
async function measureMemory(doubleUrl) {
  if (typeof WebSocket !== 'function') throw new Error('no WebSocket: run node with --experimental-websocket');
  let wasmMax = 0;
  const port = 30000 + Math.floor(Math.random() * 20000);
  const w = await startWorker('proxy', doubleUrl, {
    inspectorPort: port,
    handleStructuredLogs: ({ message }) => {
      const m = /"wasm_memory_bytes":(\d+)/.exec(message);
      if (m) wasmMax = Math.max(wasmMax, Number(m[1]));
    },
  });
  try {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
    const target = targets.find((t) => t.id.startsWith('core:user'));
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${target.id}`);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    let id = 0;
    const pending = new Map();
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      pending.get(msg.id)?.(msg.result);
      pending.delete(msg.id);
    };
    const heap = () => new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method: 'Runtime.getHeapUsage' }));
    });
    const body = Buffer.from(JSON.stringify({ id: NIK, image: selfie(2_000_000).toString('base64') }));
    const toks = await tokens(MEMORY.requests, NIK, 'mem');
    const idle = await heap();
    let peak = { total: 0, usedSize: 0, backingStorageSize: 0 };
    let running = true;
    let samples = 0;
    const sampler = (async () => {
      while (running) {
        const u = await heap();
        samples++;
        const total = u.usedSize + u.backingStorageSize;
        if (total > peak.total) peak = { total, ...u };
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await load(w.url, { n: MEMORY.requests, c: MEMORY.concurrency }, (i) => ({
      body,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${toks[i]}`, transactionId: `mem-${i}` },
    }), okProxy);
    running = false;
    await sampler;
    ws.close();
    return { idle, peak, wasm: wasmMax, samples };
  } finally {
    await w.mf.dispose();
  }
}

// ---- bundle size ----------------------------------------------------------------------------

function gz(file) {
  // the same measure as `cargo xtask`'s budget check (crates/xtask/src/util.rs)
  return execFileSync('gzip', ['-9c', file], { maxBuffer: 64 << 20 }).length;
}

// ---- the run --------------------------------------------------------------------------------

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const signed = (x, d = 2) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(d)}` : '–');
const MB = 1024 * 1024;

async function main() {
  const wasm = path.join(BUILD, 'index_bg.wasm');
  const js = path.join(BUILD, 'index.js');
  for (const f of [wasm, js]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the proxy first (cargo xtask bench proxy does)`);

  const double = await startDoubleProcess();
  const results = {}; // results[label][target] = { cpu: [per round], latencies: [], wallMs, n }
  const violations = [];
  let memory;
  try {
    console.log(`double: ${double.url}`);
    const workers = {};
    for (const kind of ['proxy', 'proxy-ledger-in-memory', 'passthrough', 'buffered']) workers[kind] = await startWorker(kind, double.url);
    try {
      for (const l of LOADS) {
        const body = Buffer.from(JSON.stringify({ id: NIK, image: selfie(l.bytes).toString('base64') }));
        const total = l.n * (ROUNDS + 1);
        // transactionIds: no spaces
        const size = l.label.replace(/\W/g, '');
        const ok = `${size}-ok`;
        const other = `${size}-other`;
        const busy = `${size}-busy`;
        const toks = await tokens(total, NIK, ok);
        const otherToks = await tokens(total, OTHER_NIK, other);
        const busyToks = await tokens(total, NIK, busy);
        const memToks = await tokens(total, NIK, `${size}-mem`);
        const json = { 'content-type': 'application/json' };
        let counter = 0;
        const txn = () => `bench-${counter++}`;
        /** A proxy request with token `i` of `toks`, for its transaction. */
        const withToken = (toks, prefix, i, extra = json) => ({ ...extra, authorization: `Bearer ${toks[i]}`, transactionId: `${prefix}-${i}` });
        // target name → how to send, where, what to expect, whose CPU to count; `behave`: how
        // the double answers meanwhile (else a match)
        const plans = {
          direct: { url: double.url, pids: [], make: () => ({ body, headers: { ...json, appId: APP_ID, appKey: APP_KEY, transactionId: txn() } }), check: okDouble },
          proxy: { url: workers.proxy.url, pids: workers.proxy.pids, make: (i) => ({ body, headers: withToken(toks, ok, i) }), check: okProxy },
          'proxy, ledger in memory': { url: workers['proxy-ledger-in-memory'].url, pids: workers['proxy-ledger-in-memory'].pids, make: (i) => ({ body, headers: withToken(memToks, `${size}-mem`, i) }), check: okProxy },
          'proxy, refused by the upstream (no receipt)': { url: workers.proxy.url, pids: workers.proxy.pids, behave: 'busy', make: (i) => ({ body, headers: withToken(busyToks, busy, i) }), check: expect(503, (j) => j.receipt === undefined) },
          'proxy, refused after the body checks': { url: workers.proxy.url, pids: workers.proxy.pids, make: (i) => ({ body, headers: withToken(otherToks, other, i) }), check: expect(401) },
          // No body: a refused request's body is never read, and an unread body closes the connection.
          'proxy, refused before the body': { url: workers.proxy.url, pids: workers.proxy.pids, make: (i) => ({ body: null, headers: withToken(toks, ok, i, { 'content-type': 'text/plain' }) }), check: expect(415) },
          'pass-through': { url: workers.passthrough.url, pids: workers.passthrough.pids, make: () => ({ body, headers: { ...json, transactionId: txn() } }), check: okDouble },
          buffered: { url: workers.buffered.url, pids: workers.buffered.pids, make: () => ({ body, headers: { ...json, transactionId: txn() } }), check: okDouble },
        };
        results[l.label] = Object.fromEntries(Object.keys(plans).map((k) => [k, { cpu: [], latencies: [], wallMs: 0, n: 0 }]));
        for (let round = 0; round <= ROUNDS; round++) {
          // Round 0 warms every target up and is not counted.
          for (const [target, p] of Object.entries(plans)) {
            const offset = round * l.n;
            await double.stats(); // forget earlier requests
            if (p.behave) await double.behave(p.behave);
            const cpu0 = p.pids.length ? cpuMs(p.pids) : 0;
            const { latencies, wallMs } = await load(p.url, { n: l.n, c: l.c }, (i) => p.make(offset + i), p.check);
            const cpu = p.pids.length ? (cpuMs(p.pids) - cpu0) / l.n : NaN;
            if (p.behave) await double.behave('match');
            const stats = await double.stats();
            const upstream = target.startsWith('proxy, refused') && !p.behave ? 0 : l.n;
            if (stats.requests !== upstream) throw new Error(`${target}: the double saw ${stats.requests} requests, expected ${upstream}`);
            if (target === 'proxy') violations.push(...stats.violations);
            if (round === 0) continue;
            const r = results[l.label][target];
            r.cpu.push(cpu);
            r.latencies.push(...latencies);
            r.wallMs += wallMs;
            r.n += l.n;
          }
          if (round > 0) {
            const r = results[l.label];
            process.stdout.write(`  ${l.label.padEnd(6)} round ${round}/${ROUNDS}: proxy ${fmt(r.proxy.cpu.at(-1))}, pass-through ${fmt(r['pass-through'].cpu.at(-1))}, buffered ${fmt(r.buffered.cpu.at(-1))} ms CPU/req\n`);
          }
        }
      }
    } finally {
      for (const w of Object.values(workers)) await w.mf.dispose();
    }
    process.stdout.write(`  memory: ${MEMORY.requests} requests of 2 MB, ${MEMORY.concurrency} at a time, on a fresh proxy … `);
    memory = await measureMemory(double.url);
    console.log('done');
  } finally {
    await double.stop();
  }

  // ---- report ----
  const wasmGz = gz(wasm);
  const jsGz = gz(js);
  const bundleGz = wasmGz + jsGz;
  const rows = [];
  const verdicts = [];
  const spreads = [];
  // CPU per request over all rounds (every round has the same number of requests).
  const cpu = (label, target) => {
    const xs = results[label][target].cpu;
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  for (const l of LOADS) {
    const res = results[l.label];
    const d = res.direct;
    const dP50 = quantile(d.latencies, 0.5);
    const dP99 = quantile(d.latencies, 0.99);
    for (const target of ['direct', 'proxy', 'proxy, ledger in memory', 'pass-through', 'buffered']) {
      const r = res[target];
      const p50 = quantile(r.latencies, 0.5);
      const p99 = quantile(r.latencies, 0.99);
      const added = target === 'direct' ? ['–', '–'] : [signed(p50 - dP50), signed(p99 - dP99)];
      const ratio = target === 'direct' || target === 'pass-through' ? '–' : `${fmt(cpu(l.label, target) / cpu(l.label, 'pass-through'))}×`;
      const name = target === 'direct' ? 'double, direct' : target;
      rows.push(`| ${l.label} | ${name} | ${r.n} @ ${l.c} | ${fmt((r.n * 1000) / r.wallMs, 0)} | ${fmt(p50)} | ${fmt(p99)} | ${added[0]} | ${added[1]} | ${target === 'direct' ? '–' : fmt(cpu(l.label, target))} | ${ratio} |`);
    }
    const ratio = cpu(l.label, 'proxy') / cpu(l.label, 'pass-through');
    const perRound = res.proxy.cpu.map((c, i) => c / res['pass-through'].cpu[i]);
    spreads.push(`${l.label} ${fmt(Math.min(...perRound))}–${fmt(Math.max(...perRound))}×`);
    const mem = res['proxy, ledger in memory'];
    verdicts.push(`- ${l.label}: the transaction ledger adds ${signed(quantile(res.proxy.latencies, 0.5) - quantile(mem.latencies, 0.5))} ms at p50 and ${signed(cpu(l.label, 'proxy') - cpu(l.label, 'proxy, ledger in memory'))} ms of workerd CPU per verification (the proxy against the same build with its ledger answered in memory)`);
    verdicts.push(`- ${l.label}: proxy CPU ${fmt(ratio)}× the pass-through's (${fmt(cpu(l.label, 'proxy'))} against ${fmt(cpu(l.label, 'pass-through'))} ms/request), target ≤ ${TARGETS.ratio}×: ${ratio <= TARGETS.ratio ? 'met' : 'NOT met'}`);
  }
  const stage = (label) => {
    const before = cpu(label, 'proxy, refused before the body');
    const afterBody = cpu(label, 'proxy, refused after the body checks');
    const unsigned = cpu(label, 'proxy, refused by the upstream (no receipt)');
    const full = cpu(label, 'proxy');
    const ledger = full - cpu(label, 'proxy, ledger in memory');
    return [before, afterBody - before, unsigned - afterBody, full - unsigned, ledger, full, cpu(label, 'buffered'), cpu(label, 'pass-through')];
  };
  const stageNames = [
    'request in and out: routing, token, rate limiter, answer, log line (refused before the body)',
    'the body: read into memory, copied into wasm, checked (refused after the body checks, minus the above)',
    'the upstream call and its answer (an upstream 503, which gets no receipt, minus the above)',
    'the receipt: claims, WebCrypto ES256 signature, in the answer (a verdict, minus an upstream 503)',
    'the ledger, inside the two rows above: its two Durable Object calls and SQLite writes (the proxy, minus the same build with its ledger in memory)',
    '**the whole proxied request**',
    'for reference: the buffered pass-through (reads the body, checks nothing)',
    'for reference: the pass-through (streams the body)',
  ];
  const stages = LOADS.map((l) => stage(l.label));
  const stageRows = stageNames.map((name, i) => `| ${name} | ${stages.map((s) => fmt(s[i])).join(' | ')} |`);

  const memTotal = memory.peak.total + memory.wasm;
  verdicts.push(`- memory under ${MEMORY.concurrency} concurrent 2 MB requests: ${fmt(memTotal / MB, 1)} MB (JS heap ${fmt(memory.peak.usedSize / MB, 1)} MB + array buffers ${fmt(memory.peak.backingStorageSize / MB, 1)} MB, sampled peak, + wasm linear memory ${fmt(memory.wasm / MB, 1)} MB), target ≤ ${MEMORY.limitMb} MB: ${memTotal <= MEMORY.limitMb * MB ? 'met' : 'NOT met'}`);
  verdicts.push(`- bundle ${fmt(bundleGz / 1024, 1)} KiB gzipped (wasm ${fmt(wasmGz / 1024, 1)} KiB + JS ${fmt(jsGz / 1024, 1)} KiB), target ≤ ${TARGETS.bundleKiB} KiB: ${bundleGz <= TARGETS.bundleKiB * 1024 ? 'met' : 'NOT met'}`);

  const cpuModel = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
  const workerdVersion = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/miniflare/package.json'), 'utf8')).version;
  const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  console.log(`
| selfie | target | requests @ concurrency | req/s | p50 ms | p99 ms | p50 added ms | p99 added ms | workerd CPU ms/req | CPU vs pass-through |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Where the proxy's CPU goes (ms per request over all rounds; a stage is the difference between requests that stop before and after it):

| stage | ${LOADS.map((l) => l.label).join(' | ')} |
|---|${LOADS.map(() => '---:').join('|')}|
${stageRows.join('\n')}

Bundle: ${path.relative(ROOT, wasm)} ${fs.statSync(wasm).size} bytes (${wasmGz} gzipped) + ${path.relative(ROOT, js)} ${fs.statSync(js).size} bytes (${jsGz} gzipped) = ${bundleGz} bytes gzipped (gzip -9).

${verdicts.join('\n')}

Spread of the proxy/pass-through ratio over the ${ROUNDS} rounds: ${spreads.join(', ')}. Memory: ${memory.samples} heap samples; idle before the load: JS heap ${fmt(memory.idle.usedSize / MB, 1)} MB + array buffers ${fmt(memory.idle.backingStorageSize / MB, 1)} MB.
Measured on loopback: Node ${process.version}, miniflare ${workerdVersion} (workerd), ${cpuModel}, ${execFileSync('nproc').toString().trim()} CPUs, load average ${load1} at the end.
Selfies are a JPEG marker followed by random bytes (the proxy checks magic bytes, base64 and size, never pixels), sent as JSON base64 with a fresh HS256 token per proxy request; every verdict carries a receipt signed with ES256 in WebCrypto.
"added" is a Worker's p50/p99 minus the double's own, called directly with the same load. CPU is workerd's user + system time per request, so it includes HTTP parsing and copying in the runtime, which Cloudflare's CPU limit does not count.${violations.length ? `\n\nWARNING: the double saw contract violations from the proxy: ${violations.join(' | ')}` : ''}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench failed: ${e.stack ?? e}`);
    process.exit(1);
  },
);
