// A reference backend for dukcapil-facematch: Node's http module and `jose`, no framework.
//
//   POST /kyc/session   { nik }                     → { token, transactionId, expiresIn }
//   POST /kyc/complete  { transactionId, receipt }  → { transactionId, outcome, match, score, sandbox }
//   POST /kyc/recover   { transactionId }           → the same record, or 202 { state } / 404
//
// "recover" is for a browser that died after the proxy's (billed) upstream call: the backend
// asks the proxy's results endpoint for the transaction, server to server, and records the
// receipt it gets exactly as /kyc/complete would.
//
// The browser never decides the outcome: it carries the proxy's signed receipt here, and only
// a receipt that verifies (kyc.mjs's verifyReceipt) is recorded. With STATIC_DIR set it also
// serves a page and its config.json (the demo's onboarding page), as your app would.
//
// Run: PROXY_JWT_SECRET=… PROXY_URL=https://verify.example.co.id node server.mjs
// Configuration (environment): see README.md.

import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet } from 'jose';
import {
  mintCallerToken, mintReadToken, fetchTransaction, nikHmac, normalizeNik, verifyReceipt, ReceiptError,
} from './kyc.mjs';

const TOKEN_TTL_SECONDS = 300;
const MAX_BODY_BYTES = 16 * 1024;
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
};

const USER_COOKIE = 'demo_user';

/**
 * STUB for your app's own login: the signed-in user, or null (→ 401). A KYC session must belong
 * to an authenticated user of your app. Here a random id in a cookie, handed out by
 * /kyc/session (`signIn`), stands in for one.
 */
function currentUser(req) {
  const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('='));
  const id = cookie.find(([k]) => k === USER_COOKIE)?.[1];
  return id && /^demo-[0-9a-f-]{36}$/.test(id) ? { id } : null;
}

/** STUB: signs a visitor in as a fresh demo user. Your app has a real login instead. */
function signIn(res) {
  const id = `demo-${randomUUID()}`;
  res.setHeader('set-cookie', `${USER_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
  return { id };
}

/**
 * Creates the backend. `records` keeps each completed verification (in memory here; your
 * database in an app), keyed by transactionId.
 */
export function createBackend({
  secret,
  proxyUrl,
  issuer = 'example-backend',
  audience = 'dukcapil-facematch',
  receiptIssuer = audience,
  allowSandbox = false,
  staticDir,
  jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', proxyUrl)),
}) {
  if (typeof secret !== 'string' || Buffer.byteLength(secret) < 32) {
    throw new Error('PROXY_JWT_SECRET must be at least 32 bytes (the proxy refuses shorter ones)');
  }
  /** transactionId → { userId, nikHmac, tokenJti, expiresAt, record? } */
  const sessions = new Map();
  const records = new Map();
  const usedReceipts = new Set();

  async function session(req, res, user) {
    const body = await readJson(req);
    const nik = normalizeNik(body?.nik);
    if (!nik) return send(res, 400, { error: 'nik_invalid', message: 'A NIK has 16 digits.' });
    const transactionId = `kyc-${randomUUID()}`;
    const { token, jti } = await mintCallerToken({
      secret, audience, issuer, subject: user.id, txn: transactionId, nik, ttlSeconds: TOKEN_TTL_SECONDS,
    });
    sessions.set(transactionId, {
      userId: user.id,
      nikHmac: nikHmac(secret, nik),
      tokenJti: jti,
      expiresAt: Date.now() + TOKEN_TTL_SECONDS * 1000,
    });
    send(res, 201, { token, transactionId, expiresIn: TOKEN_TTL_SECONDS });
  }

  async function complete(req, res, user) {
    const body = await readJson(req);
    const { transactionId, receipt } = body ?? {};
    const s = typeof transactionId === 'string' ? sessions.get(transactionId) : undefined;
    if (!s || s.userId !== user.id) return send(res, 404, { error: 'unknown_transaction' });
    if (s.record) return send(res, 409, { error: 'already_completed', ...s.record });
    if (typeof receipt !== 'string') return send(res, 400, { error: 'receipt_missing' });
    return record(res, user, transactionId, s, receipt);
  }

  /** The browser died after the call: the outcome from the proxy's results endpoint. */
  async function recover(req, res, user) {
    const { transactionId } = (await readJson(req)) ?? {};
    const s = typeof transactionId === 'string' ? sessions.get(transactionId) : undefined;
    if (!s || s.userId !== user.id) return send(res, 404, { error: 'unknown_transaction' });
    if (s.record) return send(res, 200, s.record);
    const token = await mintReadToken({ secret, audience, issuer, subject: user.id });
    const found = await fetchTransaction({ proxyUrl, token, transactionId });
    if (found === null) return send(res, 404, { error: 'not_started' });
    if (found.state !== 'done') return send(res, 202, { state: found.state });
    // Fetched by us from the proxy: checked as of when it was signed (it may be older than
    // its lifetime by now); everything else is checked as /kyc/complete does.
    return record(res, user, transactionId, s, found.receipt, { asSigned: true });
  }

  /** Verifies a receipt for the session `s` and records its outcome, once. */
  async function record(res, user, transactionId, s, receipt, { asSigned = false } = {}) {
    let claims;
    try {
      claims = await verifyReceipt(receipt, {
        jwks,
        issuer: receiptIssuer,
        audience: issuer,
        subject: user.id,
        txn: transactionId,
        nikHmac: s.nikHmac,
        tokenJti: s.tokenJti,
        allowSandbox,
        ...(asSigned ? { currentDate: signedAt(receipt) } : {}),
      });
    } catch (e) {
      if (e instanceof ReceiptError) return send(res, 422, { error: 'receipt_refused', reason: e.code });
      throw e;
    }
    // One receipt records one outcome, once.
    if (usedReceipts.has(claims.jti)) return send(res, 409, { error: 'receipt_replayed' });
    usedReceipts.add(claims.jti);
    const record = {
      transactionId,
      outcome: claims.outcome,
      match: claims.match ?? null,
      score: claims.score ?? null,
      sandbox: claims.sandbox,
      hvRequestId: claims.hv_request_id ?? null,
      receiptId: claims.jti,
    };
    s.record = record;
    records.set(transactionId, { ...record, userId: user.id, receipt, verifiedAt: new Date().toISOString() });
    send(res, 200, record);
  }

  async function serveStatic(req, res) {
    if (req.url === '/config.json') {
      return send(res, 200, {
        endpoint: proxyUrl,
        sessionUrl: '/kyc/session',
        completeUrl: '/kyc/complete',
        allowSandbox,
        timeoutMs: 30000,
      });
    }
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.resolve(staticDir, `.${rel.endsWith('/') ? `${rel}index.html` : rel}`);
    if (!file.startsWith(path.resolve(staticDir) + path.sep)) return send(res, 404, { error: 'not_found' });
    try {
      const data = await fs.readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : data);
    } catch {
      send(res, 404, { error: 'not_found' });
    }
  }

  const server = http.createServer(async (req, res) => {
    try {
      const route = `${req.method} ${req.url}`;
      if (route === 'POST /kyc/session') return await session(req, res, currentUser(req) ?? signIn(res));
      if (route === 'POST /kyc/complete' || route === 'POST /kyc/recover') {
        const user = currentUser(req);
        if (!user) return send(res, 401, { error: 'login_required' });
        return await (route === 'POST /kyc/complete' ? complete : recover)(req, res, user);
      }
      if (staticDir && (req.method === 'GET' || req.method === 'HEAD')) return await serveStatic(req, res);
      send(res, 404, { error: 'not_found' });
    } catch (e) {
      if (e instanceof BadRequest) return send(res, 400, { error: e.message });
      console.error('backend error:', e?.message ?? e);
      send(res, 500, { error: 'internal' });
    }
  });

  return {
    server,
    records,
    sessions,
    /** Listens on `port` (0: any free one) and resolves the base URL. */
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve) => server.listen(port, host, () => resolve(`http://${host}:${server.address().port}`)));
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

class BadRequest extends Error {}

/** A receipt's `iat` as a Date (its signature is checked by verifyReceipt, with this date). */
function signedAt(receipt) {
  try {
    const iat = JSON.parse(Buffer.from(receipt.split('.')[1], 'base64url').toString('utf8')).iat;
    return Number.isFinite(iat) ? new Date(iat * 1000) : undefined;
  } catch {
    return undefined;
  }
}

async function readJson(req) {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new BadRequest('json_expected');
  let size = 0;
  const chunks = [];
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('body_too_large');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('json_invalid');
  }
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

// Run directly: configuration from the environment.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env;
  const backend = createBackend({
    secret: env.PROXY_JWT_SECRET,
    proxyUrl: env.PROXY_URL ?? 'http://127.0.0.1:8788',
    issuer: env.BACKEND_ISSUER || undefined,
    audience: env.TOKEN_AUDIENCE || undefined,
    receiptIssuer: env.RECEIPT_ISSUER || undefined,
    allowSandbox: env.ALLOW_SANDBOX_RECEIPTS === 'true',
    staticDir: env.STATIC_DIR || undefined,
  });
  const url = await backend.listen(Number(env.PORT ?? 8787), env.HOST ?? '127.0.0.1');
  console.log(`backend-node listening on ${url} (proxy ${env.PROXY_URL ?? 'http://127.0.0.1:8788'})`);
  const stop = () => backend.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
