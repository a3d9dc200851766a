// io.js's `post` in Node, without workerd: the timeout it is given is the one its abort timer
// gets, and that timer's abort (not the clock of a test) is what makes an answer a timeout.
// The pipeline's native tests pin that every call is given the configured UPSTREAM_TIMEOUT_MS.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { post } from '../../crates/dukcapil-proxy/src/io.js';

/** A server that holds every request until the test answers it. */
let server, url;
const held = [];
let arrived = () => {};
before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    held.push(res);
    arrived();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${server.address().port}/`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Replaces AbortSignal.timeout with a signal the test aborts, noting the requested ms. */
const realTimeout = AbortSignal.timeout;
function controlledTimeout() {
  const asked = [];
  const controller = new AbortController();
  AbortSignal.timeout = (ms) => {
    asked.push(ms);
    return controller.signal;
  };
  return { asked, fire: () => controller.abort(new DOMException('timed out', 'TimeoutError')) };
}
afterEach(() => {
  AbortSignal.timeout = realTimeout;
});

const nextArrival = () => new Promise((r) => { arrived = r; });

test('a held request ends as a timeout when, and only when, its timer fires', async () => {
  const timer = controlledTimeout();
  const arrival = nextArrival();
  const answer = post(url, '[["content-type","application/json"]]', '{}', 1234, 1000);
  await arrival;
  assert.deepEqual(timer.asked, [1234], 'the abort timer got another timeout than the configured one');
  timer.fire();
  const [outcome, bytes] = await answer;
  assert.equal(outcome, 'timeout');
  assert.equal(bytes, null);
});

test('an answer before the timer fires is read, whatever time it took', async () => {
  const timer = controlledTimeout();
  const arrival = nextArrival();
  const answer = post(url, '[]', 'x', 60_000, 1000);
  await arrival;
  held.at(-1).writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  const [status, bytes] = await answer;
  assert.deepEqual(timer.asked, [60_000]);
  assert.equal(status, 200);
  assert.equal(new TextDecoder().decode(bytes), '{"ok":true}');
});

test('a body still arriving when the timer fires is a timeout too', async () => {
  const timer = controlledTimeout();
  const arrival = nextArrival();
  const answer = post(url, '[]', 'x', 500, 1000);
  await arrival;
  const res = held.at(-1);
  res.writeHead(200); // no length: read in chunks
  res.write('{"par');
  // One abort signal covers the head and the body: whichever is still awaited, it is a timeout.
  await new Promise((r) => setImmediate(r));
  timer.fire();
  const [outcome] = await answer;
  assert.equal(outcome, 'timeout');
  res.destroy();
});

test('an unreachable host is not a timeout', async () => {
  const timer = controlledTimeout();
  const closed = http.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const [outcome] = await post(`http://127.0.0.1:${port}/`, '[]', 'x', 500, 1000);
  assert.equal(outcome, 'unreachable');
  assert.deepEqual(timer.asked, [500]);
});
