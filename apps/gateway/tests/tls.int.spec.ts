import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { NatsConnection } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { decodeEnvelope } from '@vidchat/protocol';
import { setLogLevel } from '@vidchat/service-kit';
import { startApp, startNatsFixture, waitFor, type NatsFixture, type RunningProcess } from '@vidchat/test-support';
import { selfSignedCertificate } from '../src/http/tls.js';
import { FakeSource, isType, makeJpeg, natsClient, TestParticipant, TestViewer } from './helpers.js';

/*
 * HTTPS and WSS: the gateway as a child process with `--tls self-signed`
 * on random ports, HTTP and HTTPS at once, both serving the same app and the
 * same `/ws`; a certificate from PEM files; bad TLS options exit 2 with one
 * line. Clients check the certificate by its SHA-256 fingerprint (the one
 * the gateway logs) rather than trusting it blindly.
 */

interface HttpsAnswer {
  status: number;
  body: string;
  fingerprint256: string;
}

function httpsGet(port: number, path: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerX509Certificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint256: cert?.fingerprint256 ?? '' }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A viewer over wss that accepts the certificate only if its fingerprint is `fingerprint256`. */
async function openWss(port: number, fingerprint256: string, participant = false): Promise<TestViewer> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { rejectUnauthorized: false });
  const v = participant ? new TestParticipant(ws) : new TestViewer(ws);
  await v.opened;
  const cert = (ws as unknown as { _socket: TLSSocket })._socket.getPeerX509Certificate();
  assert.equal(cert?.fingerprint256, fingerprint256, 'the wss certificate is the one the gateway logged');
  return v;
}

async function startGateway(
  natsUrl: string,
  extra: string[],
): Promise<{ proc: RunningProcess; port: number; tlsPort: number; fingerprint: string }> {
  const proc = startApp('gateway', [
    '--nats',
    natsUrl,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--tls-port',
    '0',
    ...extra,
  ]);
  const port = Number((await proc.waitForOutput(/viewer at http:\/\/[^\s]+:(\d+)\//, 30_000))[1]);
  const tlsPort = Number((await proc.waitForOutput(/secure viewer at https:\/\/[^\s]+:(\d+)\//, 30_000))[1]);
  const fingerprint = (await proc.waitForOutput(/SHA-256 fingerprint ([0-9A-F:]{95})/, 30_000))[1]!;
  return { proc, port, tlsPort, fingerprint };
}

describe('HTTPS and WSS (child process, real NATS)', { timeout: 120_000 }, () => {
  let nats: NatsFixture;
  let nc: NatsConnection;
  let dir: string;
  const procs: RunningProcess[] = [];
  const clients: TestViewer[] = [];

  before(async () => {
    setLogLevel('warn');
    nats = await startNatsFixture();
    nc = await natsClient(nats.url);
    dir = mkdtempSync(join(tmpdir(), 'vidchat-tls-'));
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const p of procs) await p.stop();
    await nc?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--tls self-signed serves HTTP and HTTPS at once, and /ws on both reaches the same room', async () => {
    const gw = await startGateway(nats.url, ['--tls', 'self-signed']);
    procs.push(gw.proc);
    assert.notEqual(gw.port, gw.tlsPort);

    const health = await httpsGet(gw.tlsPort, '/healthz');
    assert.equal(health.status, 200, health.body);
    assert.equal(health.fingerprint256, gw.fingerprint, 'the certificate served is the one logged');
    const page = await httpsGet(gw.tlsPort, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<html/i);
    assert.equal((await fetch(`http://127.0.0.1:${gw.port}/healthz`)).status, 200);

    // A participant over wss, a viewer over plain ws, one over wss: one gateway, one room.
    const plain = await TestViewer.open(gw.port);
    clients.push(plain);
    await plain.join('tls');
    const secure = await openWss(gw.tlsPort, gw.fingerprint);
    clients.push(secure);
    await secure.join('tls');
    const p = (await openWss(gw.tlsPort, gw.fingerprint, true)) as TestParticipant;
    clients.push(p);
    await p.joinAsParticipant('tls', 'Secure Sam');
    await plain.waitEvent(isType('source-joined', (e) => e.source.id === p.self && e.source.kind === 'participant'));

    const jpeg = makeJpeg('64x48');
    const cam = new FakeSource(nc, 'tls', 'cam1');
    cam.startHeartbeats();
    try {
      await waitFor(
        () => {
          cam.video(jpeg);
          p.sendVideo(jpeg);
          const got = (v: TestViewer, source: string): boolean =>
            v.binaries.some((b) => decodeEnvelope(b).source === source);
          return (
            got(plain, 'cam1') && got(secure, 'cam1') && got(plain, p.self) && got(secure, p.self) && got(p, 'cam1')
          );
        },
        { what: 'video both ways over ws and wss', intervalMs: 100, timeoutMs: 20_000 },
      );
    } finally {
      cam.stop();
    }
    // Other paths are refused on the HTTPS port too.
    const other = new WebSocket(`wss://127.0.0.1:${gw.tlsPort}/elsewhere`, { rejectUnauthorized: false });
    const outcome = await new Promise<string>((resolve) => {
      other.once('open', () => resolve('open'));
      other.once('error', () => resolve('refused'));
    });
    other.terminate();
    assert.equal(outcome, 'refused');
  });

  it('serves a certificate from PEM files (--tls-cert/--tls-key)', async () => {
    const made = await selfSignedCertificate();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    writeFileSync(cert, made.cert);
    writeFileSync(key, made.key);
    const gw = await startGateway(nats.url, ['--tls-cert', cert, '--tls-key', key]);
    procs.push(gw.proc);
    assert.equal(gw.fingerprint, new X509Certificate(made.cert).fingerprint256);
    const health = await httpsGet(gw.tlsPort, '/healthz');
    assert.equal(health.fingerprint256, made.fingerprint256);
  });

  it('refuses unusable TLS options with one line and exit 2', async () => {
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const other = await selfSignedCertificate();
    const otherKey = join(dir, 'other-key.pem');
    writeFileSync(otherKey, other.key);
    const cert = join(dir, 'cert.pem');
    const cases: [string, string[], RegExp][] = [
      ['missing file', ['--tls-cert', join(dir, 'nope.pem'), '--tls-key', otherKey], /--tls-cert: cannot read/],
      ['not PEM', ['--tls-cert', notPem, '--tls-key', otherKey], /--tls-cert: .* not a PEM file/],
      ['key of another certificate', ['--tls-cert', cert, '--tls-key', otherKey], /do not make a usable pair/],
      ['cert without key', ['--tls-cert', cert], /go together/],
      ['both ways at once', ['--tls', 'self-signed', '--tls-key', otherKey], /exclude each other/],
      ['unknown mode', ['--tls', 'on'], /--tls.*expected off or self-signed/],
    ];
    for (const [what, args, message] of cases) {
      const p = startApp('gateway', ['--nats', nats.url, '--port', '0', '--host', '127.0.0.1', ...args]);
      const { code } = await p.exited;
      const lines = p
        .output()
        .split('\n')
        .filter((l) => l.trim() !== '');
      assert.equal(code, 2, `${what}: ${p.output()}`);
      assert.equal(lines.length, 1, `${what}: ${p.output()}`);
      assert.match(lines[0]!, message, what);
    }
  });
});
