// The comparison Worker for `cargo xtask bench proxy`: forwards the body to the upstream with
// the credentials and returns the answer. It validates nothing (no auth, no rate limits, no
// body checks, no log line), so its CPU is the runtime's floor for moving the same bytes.

/** POSTs `body` upstream with the credentials and hands the answer back as it is. */
export async function forward(request, env, body) {
  const upstream = await fetch(`${env.HV_BASE_URL}/v1/dukcapilWithFacematch`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      appId: env.HV_APP_ID,
      appKey: env.HV_APP_KEY,
      transactionId: request.headers.get('transactionId') ?? crypto.randomUUID(),
    },
    body,
  });
  return new Response(upstream.body, {
    status: upstream.status,
    headers: { 'content-type': 'application/json' },
  });
}

export default {
  fetch(request, env) {
    return forward(request, env, request.body);
  },
};
