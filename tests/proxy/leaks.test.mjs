// The leak scan's matcher must see a secret in every form a careless proxy could write it,
// and must not cry wolf over what the proxy writes by design.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leakMatcher, tokenNeedles, PIECE } from './leaks.mjs';
import { APP_KEY, JWT_SECRET, NIK } from './harness.mjs';

const m = leakMatcher([['appKey', APP_KEY], ['PROXY_JWT_SECRET', JWT_SECRET], ['full NIK', NIK]]);
const b64 = (s) => Buffer.from(s).toString('base64');
const percentAll = (s, hex = (b) => b.toString(16).toUpperCase()) => [...Buffer.from(s)].map((b) => `%${hex(b).padStart(2, '0')}`).join('');

test('finds each secret and NIK in every encoding, whole or in pieces', () => {
  for (const [what, secret] of [['appKey', APP_KEY], ['PROXY_JWT_SECRET', JWT_SECRET], ['full NIK', NIK]]) {
    const piece = secret.slice(2, 2 + PIECE);
    const forms = {
      verbatim: secret,
      'a 12-character piece': `{"message":"x${piece}y"}`,
      base64: b64(secret),
      'base64 of a piece, at each byte alignment': [0, 1, 2].map((a) => b64(`${'#'.repeat(a)}${piece}~~`)),
      'base64 cut mid-group at each offset': [1, 2, 3, 5].map((a) => b64(`0123456789${secret}!`).slice(a)),
      'base64url inside JSON': Buffer.from(JSON.stringify({ debug: { v: secret } })).toString('base64url'),
      'base64 without padding, in a header': `x-debug: ${b64(`k=${secret}`).replace(/=+$/, '')}`,
      'hex, lower case': Buffer.from(secret).toString('hex'),
      'hex, upper case, odd offset': `z${Buffer.from(`:${secret}`).toString('hex').toUpperCase()}`,
      'hex of a piece': Buffer.from(piece).toString('hex'),
      'percent-encoded, every byte': percentAll(secret),
      'percent-encoded, lower case': percentAll(piece, (b) => b.toString(16)),
      encodeURIComponent: `?q=${encodeURIComponent(`${secret} &`)}`,
    };
    for (const [form, texts] of Object.entries(forms)) {
      for (const text of [texts].flat()) assert.equal(m.find(text), what, `${what} as ${form}: ${text}`);
    }
  }
});

test('does not flag what the proxy writes by design', () => {
  const innocent = [
    '3273**********34', // the masked NIK
    NIK.slice(0, PIECE - 1), // shorter than a piece
    '{"request_id":"0f8c2a9e-5b1d-4c3e-9a7f-2d6e8b1c4a05","total_ms":3.0000000000291038}',
    APP_KEY.slice(0, PIECE - 1) + '…',
    b64('an ordinary error message that names nothing secret'),
    Buffer.from('nothing to see here at all').toString('hex'),
  ];
  for (const text of innocent) assert.equal(m.find(text), null, text);
});

test('a token is known by its signature, and a malformed one is no credential', async () => {
  const { mint } = await import('./harness.mjs');
  const token = await mint();
  const [[what, needle]] = tokenNeedles([token]);
  assert.equal(what, 'a caller token');
  assert.equal(needle, token.split('.')[2]);
  assert.equal(leakMatcher([[what, needle]]).find(`{"x":"${token}"}`), 'a caller token');
  // A test's malformed tokens: parts that are claims (shared with every receipt), or none.
  const claims = token.split('.')[1];
  assert.deepEqual(tokenNeedles([`${claims}.${claims}.${claims}`, 'a.b', 'a.b.short', '']), []);
});
