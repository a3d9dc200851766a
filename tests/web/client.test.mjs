// FaceMatchClient and the package entry, in headless Chromium, against an HTTP double of the
// proxy on 127.0.0.1 (same origin as the page). Run: node --test tests/web/client.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open, PKG } from './lib.mjs';

const NIK = '3171024503990001';
const JPEG_B64 = '/9j/4AAQSkZJRgABAQ==';
const requests = [];

const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const meta = { requestId: 'req-1', transactionId: 'tx-1' };
// The client checks that a receipt is there, never what it says: that is the backend's job.
const RECEIPT = 'eyJhbGciOiJFUzI1NiJ9.eyJvdXRjb21lIjoibWF0Y2gifQ.c2ln';
const proxyError = (status, code, retryable = false, extra = {}) => ({
  status: 'failure', statusCode: status, message: `error ${code}`,
  error: { code, retryable }, metaData: meta, ...extra,
});
const verdict = (match, score, message, extra = {}) => ({
  status: 'success', statusCode: 200,
  result: { message, details: { match, score } }, metaData: meta, receipt: RECEIPT, ...extra,
});
// Answers by the first path segment: /<scenario>/v1/dukcapilWithFacematch.
const scenarios = {
  ok: (res) => json(res, 200, verdict(true, 87.5, 'Face matched')),
  nomatch: (res) => json(res, 200, verdict(false, 12, null)),
  sandbox: (res) => json(res, 200, verdict(true, 87.5, 'Face matched', { sandbox: true })),
  sandboxnoface: (res) => json(res, 422, proxyError(422, 'FACE_NOT_DETECTED', false, { sandbox: true, receipt: RECEIPT })),
  unsigned: (res) => json(res, 200, verdict(true, 87.5, 'Face matched', { receipt: undefined })),
  othertxn: (res) => json(res, 200, verdict(true, 87.5, null, { metaData: { requestId: 'req-1', transactionId: 'tx-someone-else' } })),
  huge: (res) => json(res, 200, verdict(true, 87.5, 'x'.repeat(70 * 1024))),
  hugechunked: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(JSON.stringify(verdict(true, 87.5, null)).slice(0, -1));
    res.end(`,"padding":"${'x'.repeat(70 * 1024)}"}`);
  },
  redirect: (res) => { res.writeHead(307, { location: '/ok/v1/dukcapilWithFacematch' }); res.end(); },
  // The vendor's looser form is not the proxy's envelope: the client reads only the exact one.
  loose: (res) => json(res, 200, {
    status: 'success', statusCode: '200',
    result: { message: null, details: { match: 'no', score: '12' } }, metaData: meta,
  }),
  unauthorized: (res) => json(res, 401, { message: 'Unauthorized' }),
  unauthorizedcode: (res) => json(res, 401, proxyError(401, 'UNAUTHORIZED')),
  ratelimited: (res) => json(res, 429, proxyError(429, 'RATE_LIMITED', true), { 'retry-after': '10' }),
  ratelimitednocode: (res) => json(res, 429, { message: 'slow down' }),
  badrequest: (res) => json(res, 400, { message: 'what?' }),
  niksubmitted: (res) => json(res, 422, proxyError(422, 'NIK_INVALID', false, { receipt: RECEIPT })),
  noface: (res) => json(res, 422, proxyError(422, 'FACE_NOT_DETECTED', false, { receipt: RECEIPT })),
  multiface: (res) => json(res, 422, proxyError(422, 'MULTIPLE_FACES')),
  toolarge: (res) => json(res, 413, proxyError(413, 'PAYLOAD_TOO_LARGE')),
  origin: (res) => json(res, 403, proxyError(403, 'ORIGIN_NOT_ALLOWED')),
  upstreamtimeout: (res) => json(res, 504, proxyError(504, 'UPSTREAM_TIMEOUT', true)),
  busy: (res) => json(res, 503, proxyError(503, 'UPSTREAM_BUSY', true)),
  upstream: (res) => json(res, 502, proxyError(502, 'UPSTREAM_ERROR', true)),
  html500: (res) => { res.writeHead(500, { 'content-type': 'text/html' }); res.end('<h1>oops</h1>'); },
  garbage: (res) => json(res, 200, '{"status":"success","result":{"details":{"match":"perhaps"}}}'),
  // Never answers: only the client's timeout or abort can end the call, whatever the load.
  slow: () => {},
  // The ledger: in progress twice, then the verdict (counted per scenario).
  inprogress: (res, n) => (n < 2
    ? json(res, 409, proxyError(409, 'TRANSACTION_IN_PROGRESS', true), { 'retry-after': '0' })
    : json(res, 200, verdict(true, 87.5, null))),
  inprogressalways: (res) => json(res, 409, proxyError(409, 'TRANSACTION_IN_PROGRESS', true), { 'retry-after': '0' }),
  ledgerdown: (res, n) => (n < 1
    ? json(res, 503, proxyError(503, 'LEDGER_UNAVAILABLE', true), { 'retry-after': '0' })
    : json(res, 200, verdict(false, 12, null))),
  dropped: (res, n) => (n < 1 ? res.socket.destroy() : json(res, 200, verdict(true, 87.5, null))),
  ratelimitedlong: (res) => json(res, 429, proxyError(429, 'RATE_LIMITED', true), { 'retry-after': '60' }),
  // Servers that are not the proxy: a framework's 422, a gateway that gave up, a verdict
  // with an impossible score, an answer that echoes the NIK.
  foreign422: (res) => json(res, 422, '{"error":"Face not detected"}'),
  gateway504: (res) => { res.writeHead(504, { 'content-type': 'text/html' }); res.end('<html><body><h1>504 Gateway Time-out</h1></body></html>'); },
  score150: (res) => json(res, 200, verdict(true, 150, 'Face matched')),
  echo: (res) => json(res, 400, `{"message":"bad id 3171024503990001","image":"${JPEG_B64.repeat(4)}"}`),
};
const served = {};

let server;
let browser;
let page;

before(async () => {
  const routes = {
    'GET /': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><meta charset="utf-8"><title>client test</title>');
    },
  };
  for (const [name, answer] of Object.entries(scenarios)) {
    routes[`* /${name}/v1/dukcapilWithFacematch`] = async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      requests.push({
        scenario: name, method: req.method, headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      served[name] = (served[name] ?? 0) + 1;
      answer(res, served[name] - 1);
    };
  }
  server = await serve({ mounts: { '/pkg/': PKG }, routes });
  browser = await launch();
  page = await open(browser.context, `${server.url}/`);
  await page.addScriptTag({ type: 'module', content: "import * as dk from '/pkg/index.js'; window.dk = dk;" });
  await page.waitForFunction(() => window.dk !== undefined);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Runs `verify` in the page; returns { ok } or the error's own fields. */
async function verify(scenario, request = {}, client = {}) {
  return page.evaluate(async ({ base, scenario, request, client, NIK, JPEG_B64 }) => {
    const { FaceMatchClient, FaceMatchError } = window.dk;
    const c = new FaceMatchClient({
      endpoint: `${base}/${scenario}`,
      token: client.tokenFn === 'throw' ? () => { throw new Error('no session'); }
        : client.tokenFn ? async () => client.tokenFn : client.token,
      timeoutMs: client.timeoutMs,
      allowSandbox: client.allowSandbox,
      retries: client.retries,
      retryDelayMs: client.retryDelayMs,
    });
    const ctrl = new AbortController();
    if (request.abortAfterMs !== undefined) setTimeout(() => ctrl.abort(), request.abortAfterMs);
    try {
      const ok = await c.verify({
        nik: request.nik ?? NIK,
        selfie: request.selfie ?? JPEG_B64,
        transactionId: request.transactionId,
        signal: request.abortAfterMs !== undefined ? ctrl.signal : undefined,
      });
      return { ok };
    } catch (e) {
      return {
        isError: e instanceof Error, isFaceMatchError: e instanceof FaceMatchError,
        name: e.name, code: e.code, message: e.message, messageId: e.messageId,
        status: e.status, requestId: e.requestId, transactionId: e.transactionId,
        retryable: e.retryable, receipt: e.receipt,
        url: e.url, reason: e.reason, bodyExcerpt: e.bodyExcerpt,
      };
    }
  }, { base: server.url, scenario, request, client, NIK, JPEG_B64 });
}

function assertError(got, code, { status = null, retryable = false } = {}) {
  assert.equal(got.ok, undefined, `expected ${code}, got a result`);
  assert.equal(got.isError, true);
  assert.equal(got.isFaceMatchError, true);
  assert.equal(got.name, 'FaceMatchError');
  assert.equal(got.code, code);
  assert.equal(got.status, status);
  assert.equal(got.retryable, retryable, `${code} retryable`);
  assert.ok(got.message && got.messageId && got.message !== got.messageId);
}

test('success: request shape and result', async () => {
  requests.length = 0;
  const got = await verify('ok', { nik: '3171 0245 0399 0001', transactionId: 'tx-1' }, { token: 'abc' });
  assert.deepEqual(got.ok, {
    match: true, score: 87.5, message: 'Face matched', requestId: 'req-1', transactionId: 'tx-1',
    receipt: RECEIPT, sandbox: false,
  });
  assert.equal(requests.length, 1);
  const r = requests[0];
  assert.equal(r.method, 'POST');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers.authorization, 'Bearer abc');
  assert.equal(r.headers.transactionid, 'tx-1');
  assert.deepEqual(JSON.parse(r.body), { id: NIK, image: JPEG_B64 });
});

test('success: a no-match verdict, token function, data: URL, full endpoint URL', async () => {
  requests.length = 0;
  const got = await verify('nomatch', { selfie: `data:image/jpeg;base64,${JPEG_B64}` }, { tokenFn: 'fn-token' });
  assert.deepEqual(got.ok, {
    match: false, score: 12, message: null, requestId: 'req-1', transactionId: 'tx-1', receipt: RECEIPT, sandbox: false,
  });
  assert.equal(requests[0].headers.authorization, 'Bearer fn-token');
  assert.equal(requests[0].headers.transactionid, undefined);
  assert.deepEqual(JSON.parse(requests[0].body), { id: NIK, image: JPEG_B64 });
  const full = await page.evaluate(async (base) => {
    const c = new window.dk.FaceMatchClient({ endpoint: `${base}/ok/v1/dukcapilWithFacematch/` });
    return (await c.verify({ nik: '3171024503990001', selfie: '/9j/4AAQSkZJRgABAQ==' })).match;
  }, server.url);
  assert.equal(full, true);
});

test('a prepared selfie object is accepted', async () => {
  requests.length = 0;
  const got = await page.evaluate(async (base) => {
    const { FaceMatchClient, prepareSelfie } = window.dk;
    // A blank frame is not a photo the gate would pass: this is about the client.
    const selfie = await prepareSelfie(new ImageData(64, 48), { checks: false });
    const r = await new FaceMatchClient({ endpoint: `${base}/ok` }).verify({ nik: '3171024503990001', selfie });
    return { r, b64: selfie.base64 };
  }, server.url);
  assert.equal(got.r.match, true);
  assert.equal(JSON.parse(requests[0].body).image, got.b64);
});

test('invalid input is refused before anything is sent', async () => {
  requests.length = 0;
  assertError(await verify('ok', { nik: '123' }), 'NIK_LENGTH');
  assertError(await verify('ok', { nik: '3171024503990000' }), 'NIK_SERIAL');
  assertError(await verify('ok', { selfie: '' }), 'IMAGE_MISSING');
  assertError(await verify('ok', { selfie: 'not base64' }), 'IMAGE_BASE64');
  assertError(await verify('ok', { selfie: 'R0lGODlhAQABAAAAACw=' }), 'IMAGE_TYPE');
  assertError(await verify('ok', { transactionId: 'no spaces allowed' }), 'TRANSACTION_ID_INVALID');
  assertError(await verify('ok', {}, { tokenFn: 'throw' }), 'UNAUTHORIZED');
  assert.equal(requests.length, 0, 'nothing may reach the network');
});

test('each documented proxy error', async () => {
  const cases = [
    ['unauthorized', 'UNAUTHORIZED', 401, false],
    ['unauthorizedcode', 'UNAUTHORIZED', 401, false],
    ['ratelimited', 'RATE_LIMITED', 429, true],
    ['ratelimitednocode', 'RATE_LIMITED', 429, true],
    ['badrequest', 'BAD_REQUEST', 400, false],
    ['niksubmitted', 'NIK_INVALID', 422, false],
    ['noface', 'FACE_NOT_DETECTED', 422, false],
    ['multiface', 'MULTIPLE_FACES', 422, false],
    ['toolarge', 'PAYLOAD_TOO_LARGE', 413, false],
    ['origin', 'ORIGIN_NOT_ALLOWED', 403, false],
    ['upstreamtimeout', 'UPSTREAM_TIMEOUT', 504, true],
    ['busy', 'UPSTREAM_BUSY', 503, true],
    ['upstream', 'UPSTREAM_ERROR', 502, true],
    ['html500', 'UPSTREAM_ERROR', 500, true],
    ['garbage', 'UPSTREAM_ERROR', 200, true],
    ['loose', 'UPSTREAM_ERROR', 200, true],
  ];
  for (const [scenario, code, status, retryable] of cases) {
    const got = await verify(scenario);
    assertError(got, code, { status, retryable });
    if (got.requestId !== null) assert.equal(got.requestId, 'req-1');
  }
  const withMeta = await verify('noface');
  assert.equal(withMeta.requestId, 'req-1');
  assert.equal(withMeta.transactionId, 'tx-1');
  // Definitive refusals carry the proxy's receipt; nothing else does.
  assert.equal(withMeta.receipt, RECEIPT);
  assert.equal((await verify('niksubmitted')).receipt, RECEIPT);
  assert.equal((await verify('busy')).receipt, null);
});

test('only an answer to this request, vouched for and not simulated, is a result', async () => {
  // Another transaction's answer, a verdict without a receipt, an answer over 64 KiB (declared
  // or streamed): not answers of our proxy to this request.
  assertError(await verify('othertxn', { transactionId: 'tx-1' }), 'UPSTREAM_ERROR', { status: 200, retryable: true });
  assertError(await verify('unsigned'), 'UPSTREAM_ERROR', { status: 200, retryable: true });
  assertError(await verify('huge'), 'UPSTREAM_ERROR', { status: 200, retryable: true });
  assertError(await verify('hugechunked'), 'UPSTREAM_ERROR', { status: 200, retryable: true });
  // The echo is what it checks: the same answer is a result when it echoes what was sent.
  assert.equal((await verify('ok', { transactionId: 'tx-1' })).ok.match, true);
  // A sandbox answer is refused unless allowed, verdict or refusal.
  assertError(await verify('sandbox'), 'SANDBOX_NOT_ALLOWED', { status: 200 });
  assertError(await verify('sandboxnoface'), 'SANDBOX_NOT_ALLOWED', { status: 422 });
  const allowed = await verify('sandbox', {}, { allowSandbox: true });
  assert.equal(allowed.ok.sandbox, true);
  const refused = await verify('sandboxnoface', {}, { allowSandbox: true });
  assert.deepEqual([refused.code, refused.receipt], ['FACE_NOT_DETECTED', RECEIPT]);
});

test('redirects are never followed, and http: only on loopback', async () => {
  requests.length = 0;
  const redirected = await verify('redirect');
  assertError(redirected, 'NETWORK', { retryable: true });
  assert.match(redirected.reason, /redirect \(never followed\)/);
  assert.deepEqual(requests.map((r) => r.scenario), ['redirect'], 'the redirect was followed');
  const refused = await page.evaluate(async () => {
    const out = [];
    for (const endpoint of ['http://example.com', 'http://192.168.1.10:8787', 'http://user:pw@127.0.0.1:8787', 'ftp://127.0.0.1', 'http://localhost.example.com']) {
      try {
        await new window.dk.FaceMatchClient({ endpoint }).verify({ nik: '3171024503990001', selfie: '/9j/4AAQSkZJRgABAQ==' });
        out.push(`${endpoint}: sent`);
      } catch (e) {
        out.push(e instanceof TypeError ? 'TypeError' : `${endpoint}: ${e.code}`);
      }
    }
    return out;
  });
  assert.deepEqual(refused, Array(5).fill('TypeError'));
  assert.equal(requests.length, 1, 'nothing was sent to a refused endpoint');
  let ctor;
  try {
    await page.evaluate(() => new window.dk.FaceMatchClient({ endpoint: 'https://verify.example', allowSandbox: 'yes' }));
  } catch (e) {
    ctor = e.message;
  }
  assert.match(ctor, /allowSandbox/);
});

test('an answer that is not the proxy\'s says what came, from where, and why', async () => {
  const foreign = await verify('foreign422');
  assertError(foreign, 'BAD_REQUEST', { status: 422 });
  assert.equal(foreign.url, `${server.url}/foreign422/v1/dukcapilWithFacematch`);
  assert.match(foreign.reason, /not the proxy's envelope/);
  assert.equal(foreign.bodyExcerpt, '{"error":"Face not detected"}');
  // A wrong path: the server's own 404.
  const lost = await verify('nosuchpath');
  assertError(lost, 'BAD_REQUEST', { status: 404 });
  assert.match(lost.reason, /not a JSON object/);
  assert.equal(lost.bodyExcerpt, 'not found');
  // A gateway that gave up waiting is a timeout, not a failure.
  const gateway = await verify('gateway504');
  assertError(gateway, 'UPSTREAM_TIMEOUT', { status: 504, retryable: true });
  assert.match(gateway.bodyExcerpt, /504 Gateway Time-out/);
  // An implausible score says what was wrong.
  const score = await verify('score150');
  assertError(score, 'UPSTREAM_ERROR', { status: 200, retryable: true });
  assert.match(score.reason, /score.* outside 0–100/);
  // The excerpt never carries the NIK or the image it echoes.
  const echo = await verify('echo');
  assert.ok(!echo.bodyExcerpt.includes('3171024503990001') && !echo.bodyExcerpt.includes('4AAQ'), echo.bodyExcerpt);
  assert.match(echo.bodyExcerpt, /bad id #/);
  // The proxy's own refusals need no excuse.
  const own = await verify('noface');
  assert.deepEqual([own.reason, own.bodyExcerpt], [null, null]);
});

test('the endpoint is joined with the URL API; a query or fragment is refused', async () => {
  requests.length = 0;
  const got = await page.evaluate(async (base) => {
    const out = [];
    for (const endpoint of [`${base}/ok/`, `${base}/ok//`, `${base}/ok?key=1`, `${base}/ok#x`, `${base}/ok?`, 'not a url']) {
      try {
        const r = await new window.dk.FaceMatchClient({ endpoint }).verify({ nik: '3171024503990001', selfie: '/9j/4AAQSkZJRgABAQ==' });
        out.push(r.match);
      } catch (e) {
        out.push(e instanceof TypeError ? e.message : `${e.code} ${e.url}`);
      }
    }
    return out;
  }, server.url);
  assert.deepEqual(got.slice(0, 2), [true, true]);
  for (const m of got.slice(2, 5)) assert.match(m, /must not carry a query .* or a fragment/);
  assert.match(got[5], /endpoint/);
  assert.deepEqual(requests.map((r) => r.scenario), ['ok', 'ok']);
});

test('a cross-origin proxy without CORS: NETWORK, and the reason names CORS', async () => {
  // Another port is another origin; this server answers but sends no CORS headers.
  const bare = await serve({ routes: { '* /v1/dukcapilWithFacematch': (req, res) => json(res, 200, verdict(true, 90, null)) } });
  try {
    const got = await page.evaluate(async (endpoint) => {
      try {
        await new window.dk.FaceMatchClient({ endpoint }).verify({ nik: '3171024503990001', selfie: '/9j/4AAQSkZJRgABAQ==' });
        return null;
      } catch (e) {
        return { code: e.code, reason: e.reason, url: e.url };
      }
    }, bare.url);
    assert.equal(got.code, 'NETWORK');
    assert.equal(got.url, `${bare.url}/v1/dukcapilWithFacematch`);
    assert.match(got.reason, /CORS/);
    assert.match(got.reason, /authorization, content-type and transactionid/);
  } finally {
    await bare.close();
  }
});

test('timeout, abort and network failure', async () => {
  assertError(await verify('slow', {}, { timeoutMs: 200 }), 'TIMEOUT', { retryable: true });
  assertError(await verify('slow', { abortAfterMs: 100 }), 'ABORTED');
  const net = await page.evaluate(async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const c = new window.dk.FaceMatchClient({ endpoint: 'http://127.0.0.1:9' });
    try {
      await c.verify({ nik: '3171024503990001', selfie: '/9j/4AAQSkZJRgABAQ==' });
      return null;
    } catch (e) {
      return { code: e.code, retryable: e.retryable, status: e.status, cause: e.cause instanceof Error };
    }
  });
  assert.deepEqual(net, { code: 'NETWORK', retryable: true, status: null, cause: true });
});

test('retries: the same transaction, only for what a retry can fix, bounded, abortable', async () => {
  const sent = (scenario) => requests.filter((r) => r.scenario === scenario);
  const txn = { transactionId: 'tx-1' };
  const quick = { retryDelayMs: 1 };
  // 409 twice, then the verdict: three requests, one transactionId.
  const got = await verify('inprogress', txn, quick);
  assert.equal(got.ok?.match, true, JSON.stringify(got));
  assert.deepEqual(sent('inprogress').map((r) => r.headers.transactionid), ['tx-1', 'tx-1', 'tx-1']);
  assert.equal((await verify('ledgerdown', txn, quick)).ok?.match, false);
  assert.equal(sent('ledgerdown').length, 2);
  assert.equal((await verify('dropped', txn, quick)).ok?.match, true);
  assert.equal(sent('dropped').length, 2);
  // Bounded: `retries` more, then the last error.
  assertError(await verify('inprogressalways', txn, quick), 'TRANSACTION_IN_PROGRESS', { status: 409, retryable: true });
  assert.equal(sent('inprogressalways').length, 3);
  assertError(await verify('inprogressalways', txn, { ...quick, retries: 0 }), 'TRANSACTION_IN_PROGRESS', { status: 409, retryable: true });
  assert.equal(sent('inprogressalways').length, 4);
  // Without a transactionId, a retry would be a new (billed) transaction: none.
  assertError(await verify('inprogressalways', {}, quick), 'TRANSACTION_IN_PROGRESS', { status: 409, retryable: true });
  assert.equal(sent('inprogressalways').length, 5);
  // Not for what a retry cannot fix, nor a 503 that does not say when, nor a minute's wait.
  const before = requests.length;
  assertError(await verify('noface', txn, quick), 'FACE_NOT_DETECTED', { status: 422 });
  assertError(await verify('busy', txn, quick), 'UPSTREAM_BUSY', { status: 503, retryable: true });
  assertError(await verify('ratelimitedlong', txn, quick), 'RATE_LIMITED', { status: 429, retryable: true });
  assert.equal(requests.length, before + 3);
  // An abort during the backoff ends it at once.
  const aborted = await verify('inprogressalways', { ...txn, abortAfterMs: 200 }, { retryDelayMs: 60_000 });
  assertError(aborted, 'ABORTED');
  const bad = await page.evaluate(() => {
    const { FaceMatchClient } = window.dk;
    return [-1, 11, 1.5, '2'].map((retries) => {
      try {
        new FaceMatchClient({ endpoint: 'https://p.example', retries });
        return 'accepted';
      } catch (e) {
        return e instanceof TypeError;
      }
    });
  });
  assert.deepEqual(bad, [true, true, true, true]);
});

test('package entry: init, sync NIK API, error classes', async () => {
  const got = await page.evaluate(async () => {
    const { init, parseNik, isValidNik, NikError, SelfieError, FaceMatchError, FaceMatchClient, prepareSelfie } = window.dk;
    await init();
    const info = parseNik('3273010101900001');
    let nikErr;
    try { parseNik('3273010101900000'); } catch (e) { nikErr = e; }
    let selfieErr;
    try { await prepareSelfie('not a source'); } catch (e) { selfieErr = e; }
    let ctorErr;
    try { new FaceMatchClient({}); } catch (e) { ctorErr = e; }
    return {
      regency: info.regency.name, valid: isValidNik('3273010101900001'),
      nik: [nikErr instanceof NikError, nikErr instanceof Error, nikErr.name, nikErr.code, typeof nikErr.stack],
      selfie: [selfieErr instanceof SelfieError, selfieErr.code],
      fm: typeof FaceMatchError,
      ctor: ctorErr instanceof TypeError,
    };
  });
  assert.deepEqual(got, {
    regency: 'Kota Bandung', valid: true,
    nik: [true, true, 'NikError', 'NIK_SERIAL', 'string'],
    selfie: [true, 'SELFIE_SOURCE_TYPE'], fm: 'function', ctor: true,
  });
});

test('parseNik before init() says so', async () => {
  const p2 = await open(browser.context, `${server.url}/`);
  try {
    await p2.addScriptTag({ type: 'module', content: "import * as dk from '/pkg/index.js'; window.dk = dk;" });
    await p2.waitForFunction(() => window.dk !== undefined);
    const msg = await p2.evaluate(() => {
      try { window.dk.parseNik('3273010101900001'); return 'no error'; } catch (e) { return e.message; }
    });
    assert.match(msg, /await init\(\)/);
  } finally {
    await p2.close();
  }
});
