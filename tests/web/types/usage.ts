// Compiled by `cargo xtask test` with tsc --noEmit --strict against the built package: the
// declarations must describe a usable API with no `any`.
import {
  init,
  parseNik,
  isValidNik,
  prepareSelfie,
  FaceMatchClient,
  FaceMatchError,
  NikError,
  SelfieError,
  type NikInfo,
  type PreparedSelfie,
  type SelfieMetrics,
  type SelfieChecks,
  type VerifyResult,
  type FaceMatchErrorCode,
} from 'dukcapil-facematch';
import {
  init as initNik,
  parseNik as parseNikOnly,
  isValidNik as isValidNikOnly,
  NikError as NikErrorOnly,
} from 'dukcapil-facematch/nik';

export async function onboarding(video: HTMLVideoElement, nikInput: string): Promise<string> {
  await init();
  if (!isValidNik(nikInput)) return 'invalid';
  const info: NikInfo = parseNik(nikInput);
  const province: string | null = info.province.name;
  const moved: string | null = info.regency.movedTo;
  const sex: 'male' | 'female' = info.sex;
  const selfie: PreparedSelfie = await prepareSelfie(video, { maxDimension: 1280, quality: 0.85 });
  const client = new FaceMatchClient({
    endpoint: 'https://verify.example.com',
    token: async () => 'session-token',
    timeoutMs: 20_000,
    allowSandbox: false,
  });
  try {
    const r: VerifyResult = await client.verify({
      nik: info.normalized,
      selfie,
      transactionId: 'tx-1',
      signal: AbortSignal.timeout(30_000),
    });
    const receipt: string = r.receipt;
    const ids: string = `${r.requestId} ${r.transactionId}`;
    const simulated: boolean = r.sandbox;
    return `${province} ${moved} ${sex} ${r.match} ${r.score.toFixed(1)} ${ids} ${receipt} ${simulated}`;
  } catch (e) {
    if (e instanceof FaceMatchError) {
      const code: FaceMatchErrorCode = e.code;
      const status: number | null = e.status;
      const receipt: string | null = e.receipt;
      const sandboxRefused: boolean = code === 'SANDBOX_NOT_ALLOWED';
      return `${code} ${status} ${e.retryable} ${e.messageId} ${receipt ?? ''} ${sandboxRefused}`;
    }
    if (e instanceof NikError || e instanceof SelfieError) return e.code;
    throw e;
  }
}

/** Live guidance from the gate's measures, on success and on refusal alike. */
export async function guidance(video: HTMLVideoElement): Promise<string> {
  const strict: SelfieChecks = { minSharpness: 0.6, faces: false };
  try {
    const r = await prepareSelfie(video, { checks: strict });
    const m: SelfieMetrics | null = r.metrics;
    return m === null ? 'pdf' : `${m.brightness} ${m.sharpness} ${m.faces ?? 'no detector'}`;
  } catch (e) {
    if (e instanceof SelfieError && e.metrics !== null) {
      const dark: boolean = e.code === 'SELFIE_TOO_DARK';
      return `${dark} ${e.metrics.darkClipped} ${e.metrics.brightClipped}`;
    }
    throw e;
  }
}

export async function ungated(canvas: HTMLCanvasElement): Promise<number> {
  const r = await prepareSelfie(canvas, { checks: false });
  return r.bytes;
}

// @ts-expect-error: thresholds are numbers.
prepareSelfie(new Blob(), { checks: { minBrightness: 'dim' } });

export async function fromFile(file: File, bytes: Uint8Array, buf: ArrayBuffer): Promise<number> {
  const a = await prepareSelfie(file);
  const b = await prepareSelfie(bytes, { maxBytes: 500_000 });
  const c = await prepareSelfie(buf);
  const d = await prepareSelfie(new OffscreenCanvas(10, 10));
  return a.bytes + b.bytes + c.bytes + d.width;
}

// @ts-expect-error: a NIK is never a number.
parseNik(3171024503990001);
// @ts-expect-error: the endpoint is required.
new FaceMatchClient({});
// @ts-expect-error: allowSandbox is a boolean.
new FaceMatchClient({ endpoint: 'https://verify.example.com', allowSandbox: 'yes' });

// The error classes come from the module only: `new NikError('bad')` would lack code and
// messageId at runtime.
// @ts-expect-error: private constructor.
new NikError('bad');
// @ts-expect-error: private constructor.
new SelfieError('bad');
// @ts-expect-error: private constructor.
new FaceMatchError('bad');

/** exactOptionalPropertyTypes: an explicit `undefined` is as good as leaving a field out. */
export async function explicitUndefined(blob: Blob, maybeToken: string | undefined): Promise<string> {
  const client = new FaceMatchClient({
    endpoint: 'https://verify.example.com',
    token: maybeToken,
    timeoutMs: undefined,
    allowSandbox: undefined,
    fetch: undefined,
  });
  const selfie = await prepareSelfie(blob, { quality: undefined, checks: { faces: undefined } });
  const strict: NikInfo = parseNik('3171024503990001', { strictRegions: undefined });
  try {
    const r = await client.verify({ nik: strict.normalized, selfie, transactionId: undefined, signal: undefined });
    return r.receipt;
  } catch (e) {
    if (!(e instanceof FaceMatchError)) throw e;
    // Where the request went, and why an answer was not the proxy's.
    const detail: string = `${e.url ?? ''} ${e.reason ?? ''} ${e.bodyExcerpt ?? ''}`;
    return detail;
  }
}

export function strictForm(input: string): boolean {
  try {
    parseNik(input, { strictRegions: true });
    return true;
  } catch (e) {
    if (e instanceof NikError && e.code === 'NIK_REGENCY') return false;
    throw e;
  }
}

// @ts-expect-error: strictRegions is a boolean.
parseNik('3171024503990001', { strictRegions: 'yes' });

/** The NIK-only entry: the same NikError class, its own init. */
export async function nikOnly(input: string): Promise<string | null> {
  await initNik();
  if (!isValidNikOnly(input)) return null;
  try {
    return parseNikOnly(input, { strictRegions: true }).regency.name;
  } catch (e) {
    const same: typeof NikError = NikErrorOnly;
    if (e instanceof same) return e.code;
    throw e;
  }
}
