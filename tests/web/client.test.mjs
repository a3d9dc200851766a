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
const proxyError = (status, code, retryable = false) => ({
  status: 'failure', statusCode: status, message: `error ${code}`,
  error: { code, retryable }, metaData: meta,
});
// Answers by the first path segment: /<scenario>/v1/dukcapilWithFacematch.
const scenarios = {
  ok: (res) => json(res, 200, {
    status: 'success', statusCode: 200,
    result: { message: 'Face matched', details: { match: true, score: 87.5 } }, metaData: meta,
  }),
  nomatch: (res) => json(res, 200, {
    status: 'success', statusCode: 200,
    result: { message: null, details: { match: false, score: 12 } }, metaData: meta,
  }),
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
  niksubmitted: (res) => json(res, 422, proxyError(422, 'NIK_INVALID')),
  noface: (res) => json(res, 422, proxyError(422, 'FACE_NOT_DETECTED')),
  multiface: (res) => json(res, 422, proxyError(422, 'MULTIPLE_FACES')),
  toolarge: (res) => json(res, 413, proxyError(413, 'PAYLOAD_TOO_LARGE')),
  origin: (res) => json(res, 403, proxyError(403, 'ORIGIN_NOT_ALLOWED')),
  upstreamtimeout: (res) => json(res, 504, proxyError(504, 'UPSTREAM_TIMEOUT', true)),
  busy: (res) => json(res, 503, proxyError(503, 'UPSTREAM_BUSY', true)),
  upstream: (res) => json(res, 502, proxyError(502, 'UPSTREAM_ERROR', true)),
  html500: (res) => { res.writeHead(500, { 'content-type': 'text/html' }); res.end('<h1>oops</h1>'); },
  garbage: (res) => json(res, 200, '{"status":"success","result":{"details":{"match":"perhaps"}}}'),
  slow: (res) => { setTimeout(() => json(res, 200, {}), 3000).unref(); },
};

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
      answer(res);
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
        retryable: e.retryable,
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
  assert.deepEqual(got.ok, { match: false, score: 12, message: null, requestId: 'req-1', transactionId: 'tx-1' });
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
    const selfie = await prepareSelfie(new ImageData(64, 48));
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
