// A contract double of HyperVerge's Dukcapil-with-FaceMatch API on 127.0.0.1.
//
// It checks what the proxy sends exactly as the vendor documents it (headers, JSON body,
// base64 image ≤ 2,000,000 bytes of JPEG/PNG/PDF), records every request, and answers in the
// documented shapes. `double.behave(name)` switches to a variant or a fault for the next
// requests. Violations of the contract are recorded so tests can assert there were none.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NIK_RE = /^\d{16}$/;
export const MAX_IMAGE_BYTES = 2_000_000;

function imageKind(bytes) {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  return null;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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

export async function startDouble({ appId, appKey }) {
  const requests = [];
  let behaviour = 'match';
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const h = req.headers; // node lower-cases names
      const record = { method: req.method, path: req.url, headers: { ...h }, bodyBytes: raw.length, body: null, raw: raw.length <= 4096 ? raw.toString('utf8') : null, violations: [] };
      requests.push(record);
      const v = (msg) => record.violations.push(msg);

      if (req.method !== 'POST' || req.url !== '/v1/dukcapilWithFacematch') v(`unexpected ${req.method} ${req.url}`);
      if (!(h['content-type'] ?? '').toLowerCase().startsWith('application/json')) v(`content-type ${h['content-type']}`);
      if (!h['transactionid']) v('transactionId header missing');
      let body;
      try {
        body = JSON.parse(raw.toString('utf8'));
        record.body = body;
      } catch {
        v('body is not JSON');
      }
      if (body) {
        const keys = Object.keys(body).sort().join(',');
        if (keys !== 'id,image') v(`body keys ${keys}`);
        if (typeof body.id !== 'string' || !NIK_RE.test(body.id)) v('id is not 16 digits');
        if (typeof body.image !== 'string' || !STRICT_BASE64.test(body.image)) v('image is not strict base64');
        else {
          const bytes = Buffer.from(body.image, 'base64');
          if (bytes.length > MAX_IMAGE_BYTES) v(`image ${bytes.length} bytes`);
          if (!imageKind(bytes)) v('image is not jpeg/png/pdf');
        }
      }

      // Credentials are checked first, as the vendor does.
      if (h['appid'] !== appId || h['appkey'] !== appKey) {
        const [s, b] = answer('unauthorized', h['transactionid']);
        return send(res, s, b);
      }
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
        case 'echo-validate': {
          // Answers as the vendor would for the body it actually got.
          if (!body?.image) return send(res, ...answer('image-missing', h['transactionid']));
          const bytes = Buffer.from(body.image, 'base64');
          if (!imageKind(bytes)) return send(res, ...answer('image-type', h['transactionid']));
          if (bytes.length > MAX_IMAGE_BYTES) return send(res, ...answer('too-large', h['transactionid']));
          if (!NIK_RE.test(body.id ?? '')) return send(res, ...answer('nik-invalid', h['transactionid']));
          return send(res, ...answer('match', h['transactionid']));
        }
        default:
          return send(res, ...answer(behaviour, h['transactionid']));
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave(name) {
      behaviour = name;
    },
    reset() {
      requests.length = 0;
      behaviour = 'match';
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
