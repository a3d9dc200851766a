// A reference Worker for `cargo xtask bench proxy`: the pass-through, except that it reads the
// whole body into memory before forwarding it, as any Worker must that checks a body before
// sending it on. It checks nothing, so its CPU is this runtime's floor for validate-then-forward,
// whatever the language: what the proxy costs above it is the proxy's own work.

import { forward } from './passthrough.mjs';

export default {
  async fetch(request, env) {
    const size = Number(request.headers.get('content-length'));
    let buffer = new ArrayBuffer(size);
    const reader = request.body.getReader({ mode: 'byob' });
    let at = 0;
    while (at < size) {
      const { value, done } = await reader.read(new Uint8Array(buffer, at, size - at));
      if (done) break;
      buffer = value.buffer;
      at += value.byteLength;
    }
    return forward(request, env, new Uint8Array(buffer, 0, at));
  },
};
