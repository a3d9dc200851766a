// The leak scan's matcher: finds a secret, a NIK or a token in a text in any form a careless
// proxy could write it. A needle counts as leaked when any piece of it of PIECE characters
// (the whole needle if shorter) appears verbatim, or inside one of the text's readings:
// percent-decoded, any run of base64 (standard or URL-safe, at each of the four alignments)
// decoded, or any run of hex (either case, at both alignments) decoded.

import assert from 'node:assert/strict';

/** The shortest piece of a needle that counts as a leak. */
export const PIECE = 12;

/** Base64 or hex runs this long or longer are decoded (16 symbols hold 12 bytes). */
const BASE64_RUN = /[A-Za-z0-9+/_-]{16,}/g;
const HEX_RUN = new RegExp(`[0-9A-Fa-f]{${2 * PIECE},}`, 'g');

/** Every way the text can be read: itself, percent-decoded, and its decoded runs. */
export function readings(text) {
  const out = [text];
  if (text.includes('%')) out.push(text.replace(/%([0-9A-Fa-f]{2})/g, (_, x) => String.fromCharCode(parseInt(x, 16))));
  for (const [run] of text.matchAll(BASE64_RUN)) {
    const std = run.replace(/-/g, '+').replace(/_/g, '/');
    for (let a = 0; a < 4; a++) {
      const usable = std.slice(a, a + Math.floor((std.length - a) / 4) * 4);
      if (usable.length >= 16) out.push(Buffer.from(usable, 'base64').toString('latin1'));
    }
  }
  for (const [run] of text.matchAll(HEX_RUN)) {
    for (let a = 0; a < 2; a++) {
      const usable = run.slice(a, a + Math.floor((run.length - a) / 2) * 2);
      out.push(Buffer.from(usable, 'hex').toString('latin1'));
    }
  }
  return out;
}

/**
 * A matcher over `needles`, `[what, value]` pairs. `find(text)` returns what leaked in `text`
 * (`null`: nothing).
 */
export function leakMatcher(needles) {
  const pieces = new Map();
  for (const [what, value] of needles) {
    assert.ok(typeof value === 'string' && value.length > 0, `empty needle for ${what}`);
    const n = Math.min(PIECE, value.length);
    for (let i = 0; i + n <= value.length; i++) if (!pieces.has(value.slice(i, i + n))) pieces.set(value.slice(i, i + n), what);
  }
  const lengths = [...new Set([...pieces.keys()].map((p) => p.length))];
  const hit = (s) => {
    for (const n of lengths) {
      for (let i = 0; i + n <= s.length; i++) {
        const what = pieces.get(s.slice(i, i + n));
        if (what) return what;
      }
    }
    return null;
  };
  return {
    find(text) {
      for (const r of readings(text)) {
        const what = hit(r);
        if (what) return what;
      }
      return null;
    },
  };
}

/** Fails on the first text in `texts` that holds a piece of a needle. */
export function assertNoLeak(needles, texts, where) {
  const m = leakMatcher(needles);
  for (const t of texts) {
    const what = m.find(t);
    assert.ok(!what, `${what} leaked in ${where}: ${redact(t)}`);
  }
}

/** Only the shape of a text: it may hold the secret itself. */
export const redact = (s) => `${s.length} characters, starting ${JSON.stringify(s.slice(0, 60).replace(/[A-Za-z0-9]/g, '•'))}`;

/**
 * The part of a token that identifies it: its HS256 signature (the header is the same for
 * all, and claims are shared with receipts). Null for a token that has none: a malformed token
 * a test sent on purpose is not a credential, and its third part may be anything (claims, even).
 */
export const tokenNeedle = (token) => {
  const sig = token.split('.')[2];
  return sig && /^[A-Za-z0-9_-]{43}$/.test(sig) ? sig : null;
};

/** `[what, needle]` pairs for the tokens that are credentials. */
export const tokenNeedles = (tokens) =>
  [...tokens].map(tokenNeedle).filter((n) => n !== null).map((n) => ['a caller token', n]);
