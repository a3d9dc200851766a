// A worker-only program (lib webworker, no DOM): the declarations must compile, since
// prepareSelfie and the client run in workers. Compiled by `cargo xtask test`.
import { prepareSelfie, FaceMatchClient, FaceMatchError, type SelfieSource } from 'dukcapil-facematch';
import { init, parseNik } from 'dukcapil-facematch/nik';

const sources: SelfieSource[] = [new OffscreenCanvas(8, 8), new Blob([]), new Uint8Array(0)];

self.onmessage = async (e: MessageEvent<{ nik: string; photo: Blob }>) => {
  await init();
  const nik = parseNik(e.data.nik).normalized;
  const selfie = await prepareSelfie(e.data.photo, { maxBytes: 500_000 });
  const client = new FaceMatchClient({ endpoint: 'https://verify.example.com', token: 't' });
  try {
    const r = await client.verify({ nik, selfie, transactionId: 'tx-1' });
    self.postMessage({ receipt: r.receipt, sources: sources.length });
  } catch (err) {
    if (err instanceof FaceMatchError) self.postMessage({ code: err.code });
    else throw err;
  }
};
