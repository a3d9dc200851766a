// A contract double of HyperVerge's Dukcapil-with-FaceMatch API on 127.0.0.1.
//
// It judges every request exactly as the vendor documents the contract (docs/upstream-contract.md):
// the route, the four headers, a JSON body of `id` and `image` only, a 16-digit `id`, and a
// canonical base64 image of at most 2,000,000 bytes of JPEG, PNG or PDF. A request that breaks
// it gets the vendor's documented refusal (400 "Image not found", 400 "Invalid file type for:
// image", 200 INVALID_REQUEST "nik format is not valid" or "image larger than 2M", 401 for
// credentials), never a match. Where the vendor documents no answer (a wrong route, a missing
// transactionId, extra keys or headers) it refuses with a plain 4xx failure: stricter than the
// vendor, so that a proxy which breaks the contract can never pass a test by being lucky.
//
// Every violation is also kept in a ledger that `reset()` does not clear, and `close()` fails
// (throws) while any of them was not declared with `expectViolation()`. So a suite that never
// looks at what reached upstream still fails at teardown when the proxy broke the contract.
//
// Valid requests get the answer picked by `double.behave(name)` (a documented answer, a variant
// of it or a fault), `match` by default.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NIK_RE = /^\d{16}$/;
export const MAX_IMAGE_BYTES = 2_000_000;
export const VERIFY_PATH = '/v1/dukcapilWithFacematch';

/** The headers of the contract (node lower-cases names). */
const CONTRACT_HEADERS = new Set(['content-type', 'appid', 'appkey', 'transactionid']);
/**
 * What the HTTP client adds by itself (workerd's fetch: `cf-worker`; node:http: `connection`).
 * Anything else, the caller's `authorization`, `cookie`, `user-agent`, `cf-connecting-ip` or
 * Turnstile token among them, was forwarded by the proxy and breaks the contract.
 */
const TRANSPORT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'cf-worker']);

function imageKind(bytes) {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  return null;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Canonical: strict alphabet and padding, and the unused low bits of the last symbol are zero. */
const canonicalBase64 = (s) => STRICT_BASE64.test(s) && Buffer.from(s, 'base64').toString('base64') === s;

// The vendor's documented answers, one file each (`<status>-<name>.json`), shared with the
// core's contract tests and the proxy's sandbox.
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/upstream');
const DOCUMENTED = new Map(
  fs.readdirSync(FIXTURES)
    .filter((f) => /^\d{3}-.+\.json$/.test(f))
    .map((f) => [f.slice(4, -5), [Number(f.slice(0, 3)), JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8'))]]),
);

/** Answers by behaviour name: [status, body]. A JSON body is an object; a string is sent as it is. */
function answer(name, txn) {
  const documented = DOCUMENTED.get(name);
  if (documented) {
    const [status, body] = documented;
    return [status, { ...body, metaData: { ...body.metaData, transactionId: txn ?? null } }];
  }
  switch (name) {
    // Shapes nobody documents, to show what the proxy does with them.
    case 'missing-fields': return [200, { status: 'success', statusCode: '200', result: {} }];
    case 'odd-fields': return [200, { status: 'success', statusCode: '200', result: { details: { score: 'high', match: 'maybe' } } }];
    case 'score-out-of-range': return [200, { status: 'success', statusCode: '200', result: { details: { score: 870, match: true } } }];
    // A verdict's fields under a failure: not a verdict.
    case 'status-500-with-details': return [200, { statusCode: 500, result: { details: { match: 'yes', score: '0' } } }];
    // Which `match` did it mean? Unreadable.
    case 'duplicate-keys': return [200, '{"status":"success","statusCode":"200","result":{"details":{"score":"90","match":"false","match":"true"}}}'];
    // Refusals that no document names: sending them again would be billed and refused again.
    case 'unknown-refusal': return [200, { status: 'success', statusCode: '200', result: { status: 'INVALID_REQUEST', message: 'nik not registered' } }];
    case 'unknown-4xx': return [404, { message: 'Not Found', statusCode: 404, status: 'failure' }];
    default: throw new Error(`unknown behaviour ${name}`);
  }
}

/** Transport faults the double can play instead of an answer. */
const FAULTS = new Set(['hang', 'slow-body', 'reset', 'garbage', 'empty-200', 'huge']);

/** A refusal the vendor does not document: a plain failure naming the problem. */
const undocumented = (status, message, txn) => [status, { message, statusCode: status, status: 'failure', metaData: { requestId: 'hv-req-0001', transactionId: txn ?? null } }];

/**
 * Judges one request as the vendor would. Returns every contract violation found and the
 * vendor's answer to the first refusal (`null`: the request is valid, or only breaks what the
 * vendor would not notice).
 */
export function judge({ method, path, headers: h, raw }, { appId, appKey }) {
  const violations = [];
  let refusal = null;
  const txn = h.transactionid;
  const refuse = (violation, reply) => {
    violations.push(violation);
    refusal ??= reply;
  };

  if (method !== 'POST' || path !== VERIFY_PATH) refuse(`unexpected ${method} ${path}`, undocumented(404, 'Not Found', txn));
  // Credentials are checked before the body, as the vendor does. Wrong credentials are the
  // vendor's documented answer to a misconfigured proxy, not a violation of the contract.
  if (!refusal && (h.appid !== appId || h.appkey !== appKey)) {
    if (h.appid === undefined || h.appkey === undefined) violations.push('appId or appKey header missing');
    refusal = answer('unauthorized', txn);
  }
  for (const name of Object.keys(h)) {
    if (!CONTRACT_HEADERS.has(name) && !TRANSPORT_HEADERS.has(name)) {
      refuse(`header ${name} is not in the contract (forwarded from the caller?)`, undocumented(400, `Unexpected header: ${name}`, txn));
    }
  }
  if (!txn) refuse('transactionId header missing', undocumented(400, 'transactionId is required', txn));
  const imageMissing = answer('image-missing', txn);
  const contentType = (h['content-type'] ?? '').toLowerCase();
  if (!/^application\/json\s*(;\s*charset=utf-8\s*)?$/.test(contentType)) refuse(`content-type ${h['content-type']}`, imageMissing);

  let body = null;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    refuse('body is not JSON', imageMissing);
  }
  if (body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    refuse('body is not a JSON object', imageMissing);
    body = null;
  }
  if (body) {
    const extra = Object.keys(body).filter((k) => k !== 'id' && k !== 'image');
    if (extra.length) refuse(`body keys ${Object.keys(body).sort().join(',')}`, undocumented(400, `Unexpected field: ${extra[0]}`, txn));
    if (typeof body.image !== 'string' || body.image === '') refuse('image missing', imageMissing);
    else if (!canonicalBase64(body.image)) refuse('image is not canonical base64', answer('image-type', txn));
    else {
      const bytes = Buffer.from(body.image, 'base64');
      if (!imageKind(bytes)) refuse('image is not jpeg/png/pdf', answer('image-type', txn));
      if (bytes.length > MAX_IMAGE_BYTES) refuse(`image ${bytes.length} bytes`, answer('too-large', txn));
    }
    if (typeof body.id !== 'string' || !NIK_RE.test(body.id)) refuse('id is not 16 digits', answer('nik-invalid', txn));
  }
  return { violations, refusal, body };
}

export async function startDouble({ appId, appKey }) {
  const requests = [];
  /** Every violation since the start, `{ violation, txn, expected }`; `reset()` keeps it. */
  const ledger = [];
  /** Every request's route and headers; `reset()` keeps them too (for the leak scan). */
  const traffic = [];
  const expectations = [];
  let behaviour = 'match';
  /** While held, valid requests wait here for `release()` (null: answered at once). */
  let held = null;
  const sockets = new Set();

  const matches = (pattern, violation) => (typeof pattern === 'string' ? violation.includes(pattern) : pattern.test(violation));

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const h = req.headers;
      const { violations, refusal, body } = judge({ method: req.method, path: req.url, headers: h, raw }, { appId, appKey });
      requests.push({ method: req.method, path: req.url, headers: { ...h }, bodyBytes: raw.length, body, raw: raw.length <= 4096 ? raw.toString('utf8') : null, violations });
      traffic.push({ path: req.url, headers: { ...h } });
      for (const violation of violations) {
        ledger.push({ violation, txn: h.transactionid, expected: expectations.some((p) => matches(p, violation)) });
      }
      if (refusal) return send(res, ...refusal);
      if (held !== null) {
        const playing = behaviour;
        held.push(() => play(playing, req, res, h));
        return;
      }
      play(behaviour, req, res, h);
    });
  });
  const play = (behaviour, req, res, h) => {
      switch (behaviour) {
        case 'hang': return; // never answers
        case 'slow-body':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"status":"success",'); // and never finishes
          return;
        case 'reset': return req.socket.destroy();
        case 'garbage':
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html><body>502 Bad Gateway</body></html>');
        case 'empty-200':
          res.writeHead(200);
          return res.end();
        case 'huge':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ status: 'success', padding: 'x'.repeat(300 * 1024) }));
        default:
          return send(res, ...answer(behaviour, h.transactionid));
      }
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  const unexpected = () => ledger.filter((v) => !v.expected);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    traffic,
    behave(name) {
      if (!FAULTS.has(name)) answer(name); // throws on a name the double does not know
      behaviour = name;
    },
    /** Clears the requests and the behaviour (not the violation ledger). */
    reset() {
      requests.length = 0;
      behaviour = 'match';
      held = null;
    },
    /** Holds the answers to valid requests until `release()`. */
    hold() {
      held ??= [];
    },
    /** Answers every held request, as the behaviour was when it arrived, and stops holding. */
    release() {
      const waiting = held ?? [];
      held = null;
      for (const answerIt of waiting) answerIt();
    },
    /** Declares violations matching `pattern` (a substring or RegExp) as intended by a test. */
    expectViolation(pattern) {
      expectations.push(pattern);
      for (const v of ledger) v.expected ||= matches(pattern, v.violation);
    },
    /** Violations no test declared, as `violation (transactionId)` strings. */
    unexpectedViolations: () => unexpected().map((v) => `${v.violation} (transactionId ${v.txn ?? 'none'})`),
    /** Stops the server, then fails if the proxy broke the contract in a way no test declared. */
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      const left = unexpected();
      assert.equal(left.length, 0, `the HyperVerge double saw ${left.length} contract violation(s) no test expected: ${left.slice(0, 5).map((v) => `${v.violation} (transactionId ${v.txn ?? 'none'})`).join('; ')}`);
    },
  };
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
