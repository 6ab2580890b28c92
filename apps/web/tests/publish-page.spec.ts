import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_NAME_LENGTH } from '@vidchat/protocol';
import { cleanName, loadName, NAME_STORAGE_KEY, saveName } from '../src/publish/display-name.js';
import { captureSupport, DEFAULT_HTTPS_PORT, httpsHref } from '../src/publish/secure-origin.js';

/*
 * What the Join control decides from the page alone: whether the camera can
 * be used here (secure context), the https address to send people to, and
 * the display name.
 */

describe('captureSupport', () => {
  it('allows joining on https and on localhost (both secure contexts)', () => {
    const env = { href: 'https://lan.test:8443/?room=r', isSecureContext: true, hasGetUserMedia: true };
    assert.deepEqual(captureSupport(env), { ok: true });
    assert.deepEqual(captureSupport({ ...env, href: 'http://localhost:8080/?room=r' }), { ok: true });
  });

  it('on plain http from another machine, links the same page on the https port', () => {
    const env = { href: 'http://192.168.1.20:8080/?room=r&join=1#x', isSecureContext: false, hasGetUserMedia: false };
    assert.deepEqual(captureSupport(env), {
      ok: false,
      reason: 'insecure',
      httpsUrl: `https://192.168.1.20:${DEFAULT_HTTPS_PORT}/?room=r&join=1#x`,
    });
    assert.deepEqual(captureSupport({ ...env, href: 'http://lan.test:8080/?room=r' }, 9443), {
      ok: false,
      reason: 'insecure',
      httpsUrl: 'https://lan.test:9443/?room=r',
    });
  });

  it('says unsupported for a secure page without getUserMedia', () => {
    assert.deepEqual(captureSupport({ href: 'https://a.test/', isSecureContext: true, hasGetUserMedia: false }), {
      ok: false,
      reason: 'unsupported',
    });
  });
});

describe('httpsHref', () => {
  it('keeps host, path, query and hash; IPv6 stays bracketed; 443 is the default port', () => {
    assert.equal(
      httpsHref('http://lan.test:8080/?room=r&name=A%20B', 8443),
      'https://lan.test:8443/?room=r&name=A%20B',
    );
    assert.equal(httpsHref('http://[fd00::1]:8080/x?y=1', 8443), 'https://[fd00::1]:8443/x?y=1');
    assert.equal(httpsHref('http://lan.test/', 443), 'https://lan.test/');
  });
});

describe('display name', () => {
  it('trims, turns control characters into spaces, and refuses an empty name', () => {
    assert.equal(cleanName('  Alice  '), 'Alice');
    assert.equal(cleanName('A\u0000li\nce'), 'A li ce');
    assert.equal(cleanName('   '), null);
    assert.equal(cleanName(''), null);
    assert.equal(cleanName('<b>x</b>'), '<b>x</b>'); // shown as text, never markup
  });

  it('cuts at the protocol limit without splitting a character', () => {
    assert.equal(cleanName('x'.repeat(100))?.length, MAX_NAME_LENGTH);
    const emoji = '😀'.repeat(40); // two UTF-16 units each
    const cut = cleanName(emoji) ?? '';
    assert.equal(cut.length, MAX_NAME_LENGTH);
    assert.equal(cut, '😀'.repeat(MAX_NAME_LENGTH / 2));
    assert.equal(cleanName(`a${emoji}`)?.length, MAX_NAME_LENGTH - 1);
  });

  it('is remembered in storage, and storage that throws is ignored', () => {
    const map = new Map<string, string>();
    const storage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
    };
    assert.equal(loadName(storage), null);
    saveName(storage, 'Bob');
    assert.equal(map.get(NAME_STORAGE_KEY), 'Bob');
    assert.equal(loadName(storage), 'Bob');
    const broken = {
      getItem: (): string => {
        throw new Error('SecurityError');
      },
      setItem: (): void => {
        throw new Error('QuotaExceededError');
      },
    };
    assert.equal(loadName(broken), null);
    assert.doesNotThrow(() => saveName(broken, 'Bob'));
    assert.equal(loadName(null), null);
  });
});
