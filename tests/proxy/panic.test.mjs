// Panic recovery: a Rust panic fails only its own request. worker-build's shim then starts a
// fresh wasm instance, and the next request is answered as if nothing happened.
//
// To force a real panic without a test-only path in the Worker, the harness's instrumented
// wrapper around the built Worker has the request body's length claim 4 GiB for one request:
// the copy into wasm memory then panics ("capacity overflow").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, startDouble, assertNoLeaks, APP_ID, APP_KEY } from './harness.mjs';

let double, proxy;
before(async () => {
  double = await startDouble({ appId: APP_ID, appKey: APP_KEY });
  proxy = await startProxy({}, { double, instrumented: true });
});
after(async () => {
  await proxy?.dispose();
  await double?.close();
});

test('without the trigger, the wrapped Worker answers as usual', async () => {
  double.reset();
  const res = await proxy.verify({ txn: 'before-panic' });
  assert.equal(res.status, 200, res.text);
  assert.equal(double.requests.length, 1);
});

test('after a forced panic the next request succeeds, on a fresh instance', async () => {
  double.reset();
  const broken = await proxy.verify({ txn: 'panics', headers: { 'x-test-force-panic': 'yes' } });
  // The runtime's own answer: the request's wasm instance is gone.
  assert.equal(broken.status, 500, `the panicking request: ${broken.text.slice(0, 200)}`);
  assert.equal(double.requests.length, 0, 'the panicking request went upstream');
  await proxy.waitForLog((l) => l.startsWith('Critical Error: Rust panic') && l.includes('capacity overflow'), 'panic (did the trigger fire?)');
  for (const txn of ['after-panic-1', 'after-panic-2']) {
    const res = await proxy.verify({ txn });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.result.details.match, true);
    assert.equal(res.json.metaData.transactionId, txn);
  }
  assert.equal(double.requests.length, 2);
  assert.equal((await proxy.wasm()).instances, 2, 'one fresh wasm instance');
  // The shim starts the fresh instance when the next request arrives.
  await proxy.waitForLog((l) => l.startsWith('Reinitializing Wasm application'), 'fresh instance from the shim');
});

test('no secret, token, full NIK or image data leaked', () => assertNoLeaks());
