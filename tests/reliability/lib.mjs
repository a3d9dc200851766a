// Shared helpers for the reliability and security suites. Built on tests/proxy/harness.mjs:
// every proxy started here also feeds the harness's transcript (and its assertNoLeaks), and
// this module keeps a second, stricter record of its own for `assertNoLeaksStrict`:
// every answer (status, every header, body, raw sockets included) and every Worker log line,
// scanned for appId, appKey, PROXY_JWT_SECRET, the Turnstile secret, every full NIK used and
// every token used, in any encoding and in pieces (../proxy/leaks.mjs), and for any
// 64-character run of any image's base64.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import * as H from '../proxy/harness.mjs';
import { assertNoLeak, redact, tokenNeedles } from '../proxy/leaks.mjs';

export * from '../proxy/harness.mjs';

const answers = [];
const logSources = [];
const niks = new Set([H.NIK, H.OTHER_NIK]);
const images = new Set([H.JPEG_B64]);
const tokens = new Set();

export function noteNik(nik) {
  H.noteNik(nik);
  niks.add(nik);
}
export function noteImage(b64) {
  H.noteImage(b64);
  images.add(b64);
}
export function noteToken(token) {
  tokens.add(token);
  return token;
}
/** Records an answer that did not go through a proxy object (raw sockets, plain fetch). */
export function recordAnswer(status, headers, text) {
  answers.push({ status, headers, text });
}
/** Records log lines from somewhere else (another runtime's output). */
export function recordLogs(lines) {
  logSources.push(lines);
}

/** Like the harness's `startProxy`, and every answer and log line is also recorded here. */
export async function startProxy(vars = {}, opts = {}) {
  const p = await H.startProxy(vars, opts);
  logSources.push(p.logs);
  const inner = p.fetch;
  p.fetch = async (...args) => {
    const res = await inner(...args);
    answers.push({ status: res.status, headers: res.headers, text: res.text });
    return res;
  };
  return p;
}

/** Mints a token through the harness and remembers it for the scan. */
export async function mint(opts) {
  return noteToken(await H.mint(opts));
}

// An image's base64 is cut into 16-character blocks at offsets 0, 16, 32, …; any 64-character
// run of it contains at least one whole block, so a haystack is only compared in full where
// one of its 16-character windows is such a block.
const BLOCK = 16;
const RUN = 64;
function blockIndex() {
  const index = new Map();
  for (const img of images) {
    if (img.length < RUN) continue;
    for (let i = 0; i + BLOCK <= img.length; i += BLOCK) {
      const block = img.slice(i, i + BLOCK);
      if (!index.has(block)) index.set(block, img);
    }
  }
  return index;
}

function imageRunIn(haystack, index) {
  // Only base64-alphabet runs of 64 or more characters can hold a leaked run.
  for (const m of haystack.matchAll(/[A-Za-z0-9+/]{64,}/g)) {
    const run = m[0];
    for (let i = 0; i + BLOCK <= run.length; i++) {
      const img = index.get(run.slice(i, i + BLOCK));
      if (!img) continue;
      for (let s = Math.max(0, i - (RUN - BLOCK)); s <= i && s + RUN <= run.length; s++) {
        if (img.includes(run.slice(s, s + RUN))) return true;
      }
    }
  }
  return false;
}

export function haystacks() {
  return [
    ...answers.map((a) => `${a.status}\n${JSON.stringify(a.headers)}\n${a.text}`),
    ...logSources.flat(),
  ];
}

/**
 * The strict scan, then the harness's own. Returns the numbers scanned, for the report.
 * Call it last in a suite (node --test runs each file in its own process).
 */
export function assertNoLeaksStrict() {
  const hay = haystacks();
  assert.ok(answers.length > 0, 'no answers were recorded');
  const needles = [
    ...H.leakNeedles(),
    ...[...niks].filter((n) => /^\d{16}$/.test(n)).map((n) => ['full NIK', n]),
    ...tokenNeedles(tokens),
  ];
  assertNoLeak(needles, hay, 'an answer or log line');
  const index = blockIndex();
  for (const h of hay) {
    if (imageRunIn(h, index)) assert.fail(`a 64-character run of image base64 leaked in: ${redact(h)}`);
  }
  H.assertNoLeaks();
  const logs = logSources.flat();
  return { answers: answers.length, logLines: logs.length, niks: niks.size, images: images.size, findings: 0 };
}

/** Resident set size in MB of `pid`, from /proc. */
export function rssMb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return kb / 1024;
}

/** The pids of this process's workerd children (Miniflare's runtime). */
export function workerdPids() {
  const pids = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith('workerd')) pids.push(Number(d));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

/** Starts a proxy and returns it with the pid of the workerd it runs in. */
export async function startProxyWithPid(vars, opts) {
  const before = new Set(workerdPids());
  const p = await startProxy(vars, opts);
  const fresh = workerdPids().filter((pid) => !before.has(pid));
  assert.equal(fresh.length, 1, `expected one new workerd, found ${fresh.length}`);
  p.pid = fresh[0];
  return p;
}

export const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/**
 * Sends a raw HTTP/1.1 request and stops sending the body as soon as an answer starts, so
 * that an early refusal (413 after the cap) is read before the server closes the socket.
 * `paceMs` waits between pieces.
 *
 * A server that answers early and closes while body bytes are still in flight resets the
 * connection; when Node's next write meets that reset it destroys the socket, and an answer
 * not yet read is lost. That race belongs to TCP and this client, not to the server, so a
 * connection that ends before any answer is tried again, up to `attempts` in all; one that
 * never answers still fails. Resolves { status, raw, json, resets }.
 */
export async function rawUpload(url, head, chunks, { timeoutMs = 20000, paceMs = 0, attempts = 3 } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ...(await rawUploadOnce(url, head, chunks, { timeoutMs, paceMs })), resets: attempt - 1 };
    } catch (e) {
      if (e.code !== 'ENDED_BEFORE_ANSWER' || attempt >= attempts) throw e;
    }
  }
}

function rawUploadOnce(url, head, chunks, { timeoutMs, paceMs }) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let data = '';
    let done = false;
    let sent = 0;
    let socketError = null;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const end = data.indexOf('\r\n\r\n');
      let json = null;
      try {
        json = JSON.parse(data.slice(end + 4));
      } catch {
        // not JSON
      }
      recordAnswer(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), {}, data);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), raw: data, json });
    };
    const fail = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms (${sent} bytes sent)`)), timeoutMs);
    const sock = net.connect(Number(port), hostname, async () => {
      sock.write(head);
      for (const c of chunks) {
        if (data || done) break;
        sent += c.length;
        if (!sock.write(c)) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
        // Pacing lets the server read everything sent before it answers and closes, so the
        // close is a FIN rather than a reset that could discard the answer.
        if (paceMs) await new Promise((r) => setTimeout(r, paceMs));
      }
    });
    sock.on('data', (d) => {
      data += d.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      const len = end >= 0 && /content-length: (\d+)/i.exec(data.slice(0, end));
      if (len && data.length >= end + 4 + Number(len[1])) finish();
    });
    sock.on('error', (e) => {
      socketError = e;
      if (data) finish();
    });
    sock.on('close', () => {
      if (data) return finish();
      const e = new Error(`the connection ended before any answer (${sent} bytes sent; ${socketError?.code ?? 'closed'})`);
      e.code = 'ENDED_BEFORE_ANSWER';
      fail(e);
    });
  });
}
