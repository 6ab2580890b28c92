import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JwtError, signJwt, verifyJwt } from '../src/auth/jwt.js';
import { checkViewerToken, mintViewerToken, TokenError } from '../src/auth/viewer-token.js';

const SECRET = 'test-secret';
const NOW = 1_800_000_000_000;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof JwtError || err instanceof TokenError, `unexpected ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an error');
}

describe('jwt (HS256)', () => {
  it('round-trips claims', () => {
    const t = signJwt({ rooms: ['demo'], exp: NOW / 1000 + 60 }, SECRET);
    assert.deepEqual(verifyJwt(t, SECRET, NOW), { rooms: ['demo'], exp: NOW / 1000 + 60 });
  });

  it('verifies the HS256 example of RFC 7515 (appendix A.1), signature included', () => {
    // Header {"typ":"JWT",\r\n "alg":"HS256"}, payload {"iss":"joe",\r\n "exp":1300819380,\r\n
    // "http://example.com/is_root":true}, and the RFC's 64-byte key (the JWK's `k`).
    const header = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9';
    const payload = 'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ';
    const signature = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const key = Buffer.from(
      'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
      'base64url',
    );
    const before = 1_300_819_379_000;
    assert.deepEqual(verifyJwt(`${header}.${payload}.${signature}`, key, before), {
      iss: 'joe',
      exp: 1_300_819_380,
      'http://example.com/is_root': true,
    });
    // One signature character off, or the key as text, and it no longer verifies.
    assert.equal(
      code(() => verifyJwt(`${header}.${payload}.eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`, key, before)),
      'ERR_JWT_SIGNATURE',
    );
    assert.equal(
      code(() => verifyJwt(`${header}.${payload}.${signature}`, key.toString('base64url'), before)),
      'ERR_JWT_SIGNATURE',
    );
    assert.equal(
      code(() => verifyJwt(`${header}.${payload}.${signature}`, key, 1_300_819_380_000)),
      'ERR_JWT_EXPIRED',
    );
  });

  it('signs with the header every implementation expects', () => {
    const t = signJwt({ rooms: ['demo'], exp: 1_900_000_000 }, SECRET);
    assert.equal(t.split('.')[0], 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', '{"alg":"HS256","typ":"JWT"}');
    assert.equal(t.split('.').length, 3);
  });

  it('rejects a wrong secret, a changed payload, and a changed signature', () => {
    const t = signJwt({ rooms: ['demo'] }, SECRET);
    assert.equal(
      code(() => verifyJwt(t, 'other', NOW)),
      'ERR_JWT_SIGNATURE',
    );
    const [h, , s] = t.split('.');
    const forged = `${h}.${Buffer.from('{"rooms":["other"]}').toString('base64url')}.${s}`;
    assert.equal(
      code(() => verifyJwt(forged, SECRET, NOW)),
      'ERR_JWT_SIGNATURE',
    );
    assert.equal(
      code(() => verifyJwt(`${h}.${t.split('.')[1]}.AAAA`, SECRET, NOW)),
      'ERR_JWT_SIGNATURE',
    );
  });

  it('rejects alg none and other algorithms', () => {
    const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    const body = Buffer.from('{"rooms":["demo"]}').toString('base64url');
    assert.equal(
      code(() => verifyJwt(`${header}.${body}.`, SECRET, NOW)),
      'ERR_JWT_ALGORITHM',
    );
  });

  it('rejects malformed tokens with ERR_JWT_MALFORMED', () => {
    for (const bad of ['', 'a', 'a.b', 'a.b.c.d', '!!.b.c', `${'x'.repeat(5000)}`]) {
      assert.equal(
        code(() => verifyJwt(bad, SECRET, NOW)),
        'ERR_JWT_MALFORMED',
        bad.slice(0, 20),
      );
    }
  });

  it('rejects an expired token at and after exp', () => {
    const t = signJwt({ exp: NOW / 1000 }, SECRET);
    assert.equal(
      code(() => verifyJwt(t, SECRET, NOW)),
      'ERR_JWT_EXPIRED',
    );
    assert.doesNotThrow(() => verifyJwt(t, SECRET, NOW - 1));
  });
});

describe('viewer tokens', () => {
  it('open only the rooms they name, until they expire', () => {
    const t = mintViewerToken(SECRET, ['a', 'b'], 3600, NOW);
    checkViewerToken(SECRET, t, 'a', NOW);
    checkViewerToken(SECRET, t, 'b', NOW);
    assert.equal(
      code(() => checkViewerToken(SECRET, t, 'c', NOW)),
      'ERR_TOKEN_ROOM',
    );
    assert.equal(
      code(() => checkViewerToken(SECRET, t, 'a', NOW + 3_600_000)),
      'ERR_JWT_EXPIRED',
    );
    assert.equal(
      code(() => checkViewerToken(SECRET, undefined, 'a', NOW)),
      'ERR_TOKEN_MISSING',
    );
  });

  it('need rooms and exp claims', () => {
    assert.equal(
      code(() => checkViewerToken(SECRET, signJwt({ rooms: ['a'] }, SECRET), 'a', NOW)),
      'ERR_TOKEN_CLAIMS',
    );
    assert.equal(
      code(() => checkViewerToken(SECRET, signJwt({ rooms: ['a.b'], exp: 2e9 }, SECRET), 'a', NOW)),
      'ERR_TOKEN_CLAIMS',
    );
  });
});
