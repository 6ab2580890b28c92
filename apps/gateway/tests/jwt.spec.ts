import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { importJWK, jwtVerify } from 'jose';
import {
  assertStrongSecret,
  JWT_CLOCK_TOLERANCE_S,
  JwtError,
  MIN_SECRET_BYTES,
  signJwt,
  verifyJwt,
  WeakSecretError,
} from '../src/auth/jwt.js';
import { checkViewerToken, mintViewerToken, TokenError } from '../src/auth/viewer-token.js';

const SECRET = 'test-secret-of-at-least-32-bytes!';
const NOW = 1_800_000_000_000;
const NOW_S = NOW / 1000;

async function code(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof JwtError || err instanceof TokenError, `unexpected ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an error');
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('RFC 7515 Appendix A.1 (HS256), verified by jose', () => {
  // The example JWS of RFC 7515 A.1, its JWK, and its claims (the header and
  // payload contain CR LF, as in the RFC, which is why they are given encoded).
  const jws =
    'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
    '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
    '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const jwk = {
    kty: 'oct',
    k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
  };
  const exp = 1_300_819_380;

  it('verifies with its JWK key before exp, and gives its claims', async () => {
    const key = await importJWK(jwk, 'HS256');
    const { payload, protectedHeader } = await jwtVerify(jws, key, {
      algorithms: ['HS256'],
      currentDate: new Date((exp - 60) * 1000),
    });
    assert.deepEqual(protectedHeader, { typ: 'JWT', alg: 'HS256' });
    assert.deepEqual(payload, { iss: 'joe', exp, 'http://example.com/is_root': true });
  });

  it('verifies through our verifyJwt with the same key bytes, bar the iat we require', async () => {
    const keyBytes = Buffer.from(jwk.k, 'base64url');
    // The example has no iat: our verifier requires one, and says so as a claims error.
    assert.equal(await code(() => verifyJwt(jws, keyBytes, (exp - 60) * 1000)), 'ERR_JWT_CLAIMS');
    // A changed signature byte, or the key one bit off, fails the signature.
    const bad = `${jws.slice(0, -1)}${jws.endsWith('k') ? 'A' : 'k'}`;
    assert.equal(await code(() => verifyJwt(bad, keyBytes, (exp - 60) * 1000)), 'ERR_JWT_SIGNATURE');
    const otherKey = Buffer.from(keyBytes);
    otherKey[0] = otherKey[0]! ^ 1;
    assert.equal(await code(() => verifyJwt(jws, otherKey, (exp - 60) * 1000)), 'ERR_JWT_SIGNATURE');
  });

  it('is expired after exp plus the tolerance', async () => {
    const key = await importJWK(jwk, 'HS256');
    await assert.rejects(jwtVerify(jws, key, { algorithms: ['HS256'], currentDate: new Date((exp + 1) * 1000) }));
  });
});

describe('jwt (HS256 through jose)', () => {
  it('round-trips claims, adding iat', async () => {
    const t = await signJwt({ rooms: ['demo'], exp: NOW_S + 60 }, SECRET, NOW);
    assert.deepEqual(await verifyJwt(t, SECRET, NOW), { rooms: ['demo'], exp: NOW_S + 60, iat: NOW_S });
    assert.equal(t.split('.')[0], b64({ alg: 'HS256', typ: 'JWT' }));
  });

  it('rejects a wrong secret, a changed payload, and a changed signature', async () => {
    const t = await signJwt({ rooms: ['demo'], exp: NOW_S + 60 }, SECRET, NOW);
    assert.equal(await code(() => verifyJwt(t, `${SECRET}x`, NOW)), 'ERR_JWT_SIGNATURE');
    const [h, , s] = t.split('.');
    const forged = `${h}.${b64({ rooms: ['other'], exp: NOW_S + 60, iat: NOW_S })}.${s}`;
    assert.equal(await code(() => verifyJwt(forged, SECRET, NOW)), 'ERR_JWT_SIGNATURE');
    assert.equal(await code(() => verifyJwt(`${h}.${t.split('.')[1]}.AAAA`, SECRET, NOW)), 'ERR_JWT_SIGNATURE');
  });

  it('pins the algorithm: none, HS512 and RS256 headers are refused', async () => {
    const body = b64({ rooms: ['demo'], exp: NOW_S + 60, iat: NOW_S });
    for (const alg of ['none', 'HS512', 'RS256', 'hs256']) {
      assert.equal(
        await code(() => verifyJwt(`${b64({ alg, typ: 'JWT' })}.${body}.`, SECRET, NOW)),
        'ERR_JWT_ALGORITHM',
        alg,
      );
    }
  });

  it('rejects malformed tokens with ERR_JWT_MALFORMED', async () => {
    for (const bad of ['', 'a', 'a.b', 'a.b.c.d', '!!.b.c', 'x'.repeat(5000), `${b64({ alg: 'HS256' })}.!!.x`]) {
      assert.equal(await code(() => verifyJwt(bad, SECRET, NOW)), 'ERR_JWT_MALFORMED', bad.slice(0, 20));
    }
  });

  it('checks exp, nbf and iat with the clock tolerance; exp and iat are required', async () => {
    const tol = JWT_CLOCK_TOLERANCE_S;
    const at = (claims: Record<string, unknown>): Promise<string> => signJwt(claims, SECRET, NOW);
    // exp: valid up to the tolerance after it.
    const expiring = await at({ exp: NOW_S });
    await verifyJwt(expiring, SECRET, NOW + (tol - 1) * 1000);
    assert.equal(await code(() => verifyJwt(expiring, SECRET, NOW + (tol + 1) * 1000)), 'ERR_JWT_EXPIRED');
    // nbf: valid from the tolerance before it.
    const later = await at({ exp: NOW_S + 3600, nbf: NOW_S + 600 });
    assert.equal(await code(() => verifyJwt(later, SECRET, NOW)), 'ERR_JWT_CLAIMS');
    await verifyJwt(later, SECRET, NOW + (600 - tol + 1) * 1000);
    // iat in the future beyond the tolerance: a clock far off, or a forged token.
    const future = await at({ exp: NOW_S + 3600, iat: NOW_S + 600 });
    assert.equal(await code(() => verifyJwt(future, SECRET, NOW)), 'ERR_JWT_CLAIMS');
    const noExp = await at({ rooms: [] });
    assert.equal(await code(() => verifyJwt(noExp, SECRET, NOW)), 'ERR_JWT_CLAIMS', 'no exp');
    const noIat = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ exp: NOW_S + 60 })}`;
    const signed = `${noIat}.${createHmac('sha256', SECRET).update(noIat).digest('base64url')}`;
    assert.equal(await code(() => verifyJwt(signed, SECRET, NOW)), 'ERR_JWT_CLAIMS', 'no iat');
    const soon = await at({ exp: 'soon' });
    assert.equal(await code(() => verifyJwt(soon, SECRET, NOW)), 'ERR_JWT_CLAIMS', 'exp not a number');
  });

  it('wants a secret of at least 32 bytes', () => {
    assert.throws(() => assertStrongSecret('x'.repeat(MIN_SECRET_BYTES - 1)), WeakSecretError);
    assert.doesNotThrow(() => assertStrongSecret('x'.repeat(MIN_SECRET_BYTES)));
    // Bytes, not characters: 11 three-byte characters are 33 bytes.
    assert.doesNotThrow(() => assertStrongSecret('€'.repeat(11)));
  });
});

describe('viewer tokens', () => {
  it('open the rooms they name until they expire, and carry their grants', async () => {
    const t = await mintViewerToken(SECRET, ['a', 'b'], 3600, NOW);
    assert.deepEqual(await checkViewerToken(SECRET, t, 'a', NOW), { publish: false, record: false });
    await checkViewerToken(SECRET, t, 'b', NOW);
    assert.equal(await code(() => checkViewerToken(SECRET, t, 'c', NOW)), 'ERR_TOKEN_ROOM');
    assert.equal(await code(() => checkViewerToken(SECRET, t, 'a', NOW + 3_700_000)), 'ERR_JWT_EXPIRED');
    assert.equal(await code(() => checkViewerToken(SECRET, undefined, 'a', NOW)), 'ERR_TOKEN_MISSING');
    const full = await mintViewerToken(SECRET, ['a'], 60, NOW, { publish: true, record: true, name: 'Ada' });
    assert.deepEqual(await checkViewerToken(SECRET, full, 'a', NOW), { publish: true, record: true, name: 'Ada' });
  });

  it('need rooms as ids, and a name of 1-64 characters', async () => {
    const at = (claims: Record<string, unknown>): Promise<string> =>
      signJwt({ exp: NOW_S + 60, ...claims }, SECRET, NOW);
    assert.equal(await code(async () => checkViewerToken(SECRET, await at({}), 'a', NOW)), 'ERR_TOKEN_CLAIMS');
    assert.equal(
      await code(async () => checkViewerToken(SECRET, await at({ rooms: ['a.b'] }), 'a', NOW)),
      'ERR_TOKEN_CLAIMS',
    );
    for (const name of ['', 'x'.repeat(65), 42]) {
      assert.equal(
        await code(async () => checkViewerToken(SECRET, await at({ rooms: ['a'], name }), 'a', NOW)),
        'ERR_TOKEN_CLAIMS',
      );
    }
  });

  it('are not minted with a weak secret', async () => {
    await assert.rejects(mintViewerToken('short', ['a'], 60), WeakSecretError);
  });
});
