// The HyperVerge contract double (tests/proxy/hyperverge-double.mjs) in its own process, so
// its JSON and base64 work competes neither with the load generator's clocks nor with workerd.
// The parent talks to it over IPC: it answers `{ url }` once listening, on a 'stats' message
// reports how many requests it saw and how many broke the contract (then forgets them, so
// memory stays flat across runs), and on `{ behave }` answers that way from then on.

import { startDouble } from '../proxy/hyperverge-double.mjs';

const [appId, appKey] = [process.env.BENCH_APP_ID, process.env.BENCH_APP_KEY];
const double = await startDouble({ appId, appKey });
let seen = 0;
const violations = [];
const drain = () => {
  for (const r of double.requests) {
    seen += 1;
    if (r.violations.length && violations.length < 5) violations.push(r.violations.join('; '));
  }
  double.requests.length = 0;
};
const timer = setInterval(drain, 200);
process.on('message', async (msg) => {
  if (msg?.behave) {
    double.behave(msg.behave);
    process.send({ behaving: msg.behave });
  } else if (msg === 'stats') {
    drain();
    process.send({ stats: { requests: seen, violations: [...violations] } });
    seen = 0;
    violations.length = 0;
  } else if (msg === 'stop') {
    clearInterval(timer);
    // The bench reports violations through 'stats' (and prints them); the ledger's own failure
    // at close would only end this process early.
    await double.close().catch(() => {});
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ url: double.url });
