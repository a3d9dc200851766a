// Upstream faults, beyond the double's set in tests/proxy/forwarding.test.mjs (hang,
// slow-body, reset, garbage, empty-200, huge, 500, 503, 429, 401, odd and missing fields),
// which checks codes. Here a fault upstream on 127.0.0.1 adds what the double cannot do
// (502/504 from a load balancer, a trickling or endless body, a truncated body, a redirect,
// a socket that never answers, a refused connection, answers that echo secrets), and every
// fault, the double's included, is held to three rules:
//   1. a clear 5xx or 429 with an error code;
//   2. a fault that never ends is cut by the proxy's own timeout: the answer is a 504
//      UPSTREAM_TIMEOUT, never earlier than UPSTREAM_TIMEOUT_MS (no clock bound on how late:
//      speed belongs in `cargo xtask bench proxy`; HANG_GUARD_MS only stops a hung test);
//   3. no secret (appId, appKey, JWT secret) and no full NIK in the answer.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import {
  startProxy, startDouble, assertError, assertNoLeaksStrict, noteNik,
  APP_ID, APP_KEY, JWT_SECRET, NIK,
} from './lib.mjs';

const TIMEOUT_MS = 800;
/** A hang guard per test, not a bound: a proxy whose timeout never fires fails here. */
const HANG_GUARD_MS = 60_000;
const guarded = { timeout: HANG_GUARD_MS };

let double, fault, proxyOnDouble, proxyOnFault, catcher;
const stolen = [];

/** An upstream whose answer is picked per test by `fault.mode`. */
async function startFaultServer() {
  const state = { mode: 'ok', requests: 0, redirectTo: '' };
  const sockets = new Set();
  const timers = new Set();
  const later = (ms, fn) => {
    const t = setInterval(fn, ms);
    timers.add(t);
    return t;
  };
  const meta = { requestId: 'hv-fault', transactionId: 'x' };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      const json = (status, body, headers = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      switch (state.mode) {
        case 'lb-502':
          res.writeHead(502, { 'content-type': 'text/html' });
          return res.end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>');
        case 'lb-504':
          res.writeHead(504, { 'content-type': 'text/html' });
          return res.end('<html><body>504 Gateway Time-out</body></html>');
        case 'json-502':
          return json(502, { status: 'failure', statusCode: 502, message: 'Bad Gateway', metaData: meta });
        case 'html-500':
          res.writeHead(500, { 'content-type': 'text/html' });
          return res.end('<h1>Internal Server Error</h1><pre>Traceback (most recent call last)…</pre>');
        case '429-retry-3600':
          return json(429, { status: 'failure', statusCode: 429, message: 'Requests rate limit exceeded' }, { 'retry-after': '3600' });
        case '503-no-body':
          res.writeHead(503);
          return res.end();
        case 'echo-secrets-401':
          // A vendor error that repeats the credentials it was given.
          return json(401, { status: 'failure', statusCode: 401, message: `Invalid appId ${req.headers.appid} / appKey ${req.headers.appkey}` });
        case 'echo-secrets-500':
          return json(500, { status: 'failure', statusCode: 500, message: `upstream error for appKey=${req.headers.appkey}`, debug: { appId: req.headers.appid, nik: NIK } });
        case 'echo-secrets-200-invalid':
          return json(200, { status: 'success', statusCode: '200', result: { status: 'INVALID_REQUEST', message: `bad request from ${req.headers.appid}: ${req.headers.appkey}` }, metaData: meta });
        case 'trickle':
          // A valid-looking body, one byte every 50 ms, forever.
          res.writeHead(200, { 'content-type': 'application/json' });
          later(50, () => res.write(' '));
          return;
        case 'headers-then-silence':
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
          res.flushHeaders();
          return;
        case 'truncated':
          // Declares 500 bytes, sends 30, closes.
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
          res.write('{"status":"success","result":{');
          return setTimeout(() => res.socket.destroy(), 20);
        case 'endless':
          // Streams as fast as it can, never ends.
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"status":"success","padding":"');
          later(1, () => res.write('x'.repeat(64 * 1024)));
          return;
        case 'deep-json':
          return json(200, `{"status":"success","result":${'['.repeat(200000)}`);
        case 'gzip-garbage':
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          return res.end(Buffer.from('this is not gzip at all'));
        case 'odd-types':
          return json(200, { status: 'success', statusCode: '200', result: { details: { score: [87.5], match: 1 } } });
        case 'nan-score':
          return json(200, '{"status":"success","statusCode":"200","result":{"details":{"score":"NaN","match":"true"}}}');
        case 'redirect':
          res.writeHead(307, { location: state.redirectTo });
          return res.end();
        case 'redirect-same-host':
          res.writeHead(302, { location: '/elsewhere' });
          return res.end();
        default:
          return json(200, { status: 'success', statusCode: '200', result: { details: { score: '90', match: 'true' } }, metaData: meta });
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    async close() {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Accepts TCP connections and never says a word. */
async function startSilentSocket() {
  const sockets = new Set();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get connections() {
      return connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  fault = await startFaultServer();
  catcher = http.createServer((req, res) => {
    stolen.push({ path: req.url, appkey: req.headers.appkey !== undefined, appid: req.headers.appid !== undefined });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', statusCode: '200', result: { details: { score: '99', match: 'true' } } }));
  });
  await new Promise((r) => catcher.listen(0, '127.0.0.1', r));
  fault.state.redirectTo = `http://127.0.0.1:${catcher.address().port}/steal`;
  proxyOnDouble = await startProxy({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) }, { double });
  proxyOnFault = await startProxy({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), HV_BASE_URL: fault.url });
});
after(async () => {
  await proxyOnDouble?.dispose();
  await proxyOnFault?.dispose();
  await double?.close();
  await fault?.close();
  await new Promise((r) => catcher?.close(r));
});

const survived = [];

/** Sends one verify request and holds the answer to the three rules. */
async function survives(proxy, name, status, code, txn) {
  const t0 = performance.now();
  const res = await proxy.verify({ txn });
  const elapsed = performance.now() - t0;
  assertError(res, status, code);
  assert.ok(status >= 500 || status === 429, `${status} is neither 5xx nor 429`);
  // A 504 is logged as a timeout (the abort timer's, or the vendor's own answer). That the timer
  // is the configured one (a proxy that gives up early would fail honest calls) is pinned
  // without a clock: natively (every call carries UPSTREAM_TIMEOUT_MS) and in
  // tests/proxy/io.test.mjs (post hands it to the abort timer).
  if (code === 'UPSTREAM_TIMEOUT') assert.equal((await proxy.logFor(res.headers['x-request-id'])).reason, 'upstream_timeout', name);
  const whole = `${JSON.stringify(res.headers)}${res.text}`;
  for (const secret of [APP_ID, APP_KEY, JWT_SECRET, NIK]) assert.ok(!whole.includes(secret), `${name}: a secret or the NIK is in the answer`);
  assert.equal(res.json.metaData.transactionId, txn);
  if (status === 429) assert.equal(res.headers['retry-after'], '60');
  survived.push([name, status, code, Math.round(elapsed)]);
  return { res, elapsed };
}

// The double's faults, now timed and scanned.
const doubleFaults = [
  ['hang', 504, 'UPSTREAM_TIMEOUT'],
  ['slow-body', 504, 'UPSTREAM_TIMEOUT'],
  ['reset', 502, 'UPSTREAM_ERROR'],
  ['garbage', 502, 'UPSTREAM_ERROR'],
  ['empty-200', 502, 'UPSTREAM_ERROR'],
  ['huge', 502, 'UPSTREAM_ERROR'],
  ['server-error', 502, 'UPSTREAM_ERROR'],
  ['busy', 503, 'UPSTREAM_BUSY'],
  ['rate-limited', 429, 'UPSTREAM_RATE_LIMITED'],
  ['unauthorized', 502, 'PROXY_UPSTREAM_CREDENTIALS'],
  ['missing-fields', 502, 'UPSTREAM_ERROR'],
  ['odd-fields', 502, 'UPSTREAM_ERROR'],
  ['score-out-of-range', 502, 'UPSTREAM_ERROR'],
];
for (const [behaviour, status, code] of doubleFaults) {
  test(`double ${behaviour} → ${status} ${code}, nothing leaked`, guarded, async () => {
    double.reset();
    double.behave(behaviour);
    await survives(proxyOnDouble, `double ${behaviour}`, status, code, `f-${behaviour}`);
    assert.equal(double.requests.length, 1, 'exactly one upstream call, no retry');
  });
}

const faults = [
  ['lb-502', 502, 'UPSTREAM_ERROR'],
  ['json-502', 502, 'UPSTREAM_ERROR'],
  ['lb-504', 502, 'UPSTREAM_ERROR'],
  ['html-500', 502, 'UPSTREAM_ERROR'],
  ['503-no-body', 503, 'UPSTREAM_BUSY'],
  ['429-retry-3600', 429, 'UPSTREAM_RATE_LIMITED'],
  ['echo-secrets-401', 502, 'PROXY_UPSTREAM_CREDENTIALS'],
  ['echo-secrets-500', 502, 'UPSTREAM_ERROR'],
  ['trickle', 504, 'UPSTREAM_TIMEOUT'],
  ['headers-then-silence', 504, 'UPSTREAM_TIMEOUT'],
  ['truncated', 502, 'UPSTREAM_ERROR'],
  ['endless', 502, 'UPSTREAM_ERROR'],
  ['deep-json', 502, 'UPSTREAM_ERROR'],
  ['gzip-garbage', 502, 'UPSTREAM_ERROR'],
  ['odd-types', 502, 'UPSTREAM_ERROR'],
  ['nan-score', 502, 'UPSTREAM_ERROR'],
];
for (const [mode, status, code] of faults) {
  test(`upstream ${mode} → ${status} ${code}, nothing leaked`, guarded, async () => {
    fault.state.mode = mode;
    const before = fault.state.requests;
    await survives(proxyOnFault, mode, status, code, `f-${mode}`);
    assert.equal(fault.state.requests - before, 1, 'exactly one upstream call, no retry');
  });
}

for (const mode of ['redirect', 'redirect-same-host']) {
  test(`${mode}: not followed, so the credentials never reach another URL`, guarded, async () => {
    // The catcher counts what reaches it: prove it would see a followed redirect.
    const probe = await fetch(fault.state.redirectTo, { method: 'POST' });
    assert.equal(probe.status, 200);
    assert.equal(stolen.length, 1);
    stolen.length = 0;
    fault.state.mode = mode;
    const before = fault.state.requests;
    await survives(proxyOnFault, mode, 502, 'UPSTREAM_ERROR', `f-${mode}-once`);
    assert.equal(fault.state.requests - before, 1, 'the redirect was answered, and not followed back to the same host');
    assert.deepEqual(stolen, [], 'the redirect was followed to another host');
  });
}

test('an upstream that echoes the credentials in a 200 failure: nothing of it reaches the caller', async () => {
  fault.state.mode = 'echo-secrets-200-invalid';
  const res = await proxyOnFault.verify({ txn: 'f-echo-200' });
  assert.ok(res.status >= 400, res.text.slice(0, 200));
  for (const secret of [APP_ID, APP_KEY]) assert.ok(!res.text.includes(secret));
  survived.push(['echo-secrets-200-invalid', res.status, res.json?.error?.code, 0]);
});

test('a socket that accepts and never answers → 504', guarded, async () => {
  const silent = await startSilentSocket();
  const p = await startProxy({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), HV_BASE_URL: silent.url });
  try {
    await survives(p, 'silent socket', 504, 'UPSTREAM_TIMEOUT', 'f-silent');
    assert.equal(silent.connections, 1);
  } finally {
    await p.dispose();
    await silent.close();
  }
});

test('a refused connection → 502', guarded, async () => {
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r)); // now nothing listens there
  const p = await startProxy({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), HV_BASE_URL: `http://127.0.0.1:${port}` });
  try {
    await survives(p, 'connection refused', 502, 'UPSTREAM_ERROR', 'f-refused');
  } finally {
    await p.dispose();
  }
});

test('after every fault the proxy still answers a good request', async () => {
  double.reset();
  const res = await proxyOnDouble.verify({ txn: 'f-after' });
  assert.equal(res.status, 200, res.text.slice(0, 200));
  fault.state.mode = 'ok';
  const res2 = await proxyOnFault.verify({ txn: 'f-after-2' });
  assert.equal(res2.status, 200, res2.text.slice(0, 200));
});

test('no appId, appKey, secret, token, full NIK or image data leaked', () => {
  noteNik(NIK);
  const n = assertNoLeaksStrict();
  const slowest = Math.max(...survived.map((s) => s[3]));
  console.log(`faults survived: ${survived.length} (slowest answer ${slowest} ms; timeout ${TIMEOUT_MS} ms)`);
  console.log(`leak scan: ${n.answers} answers, ${n.logLines} log lines: 0 leaks`);
});
