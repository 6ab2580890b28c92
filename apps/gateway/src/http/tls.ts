import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { createSecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import type { GatewayConfig } from '../config.js';

/*
 * The gateway's TLS material: a certificate and key from PEM files
 * (`--tls-cert` / `--tls-key`), or a self-signed certificate made at start
 * (`--tls self-signed`) for the names and addresses of this machine, so that
 * other machines on the LAN can open https://<address>:8443/ and, after
 * accepting it once, use the camera and microphone (browsers allow
 * `getUserMedia` only in a secure context).
 */

/** Days a self-signed certificate is valid. */
export const SELF_SIGNED_DAYS = 365;

export interface TlsMaterial {
  key: string;
  cert: string;
  /** SHA-256 fingerprint of the certificate, `AA:BB:…`, to compare with what a browser shows. */
  fingerprint256: string;
  selfSigned: boolean;
  /** The DNS names and IP addresses the certificate names. */
  names: string[];
}

/** Unusable TLS options or files: the CLI prints the message on one line and exits 2. */
export class TlsConfigError extends Error {
  readonly code = 'ERR_TLS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** This machine's non-internal IPv4 and IPv6 addresses (what other machines on the LAN can reach). */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Link-local IPv6 needs a zone id in a URL: of no use for a link to share.
      if (!a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80'))) out.push(a.address);
    }
  }
  return out;
}

type TlsOptions = Pick<GatewayConfig, 'tls' | 'tlsCert' | 'tlsKey'>;

/** Whether the options ask for HTTPS at all. */
export function tlsRequested(config: TlsOptions): boolean {
  return config.tls === 'self-signed' || config.tlsCert !== undefined || config.tlsKey !== undefined;
}

function readPem(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TlsConfigError(`${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!text.includes('-----BEGIN ')) throw new TlsConfigError(`${flag}: ${path} is not a PEM file`);
  return text;
}

function describe(key: string, cert: string, selfSigned: boolean): TlsMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
    // Checks that the key is a private key that matches the certificate.
    createSecureContext({ key, cert });
  } catch (err) {
    throw new TlsConfigError(`the certificate and key do not make a usable pair: ${(err as Error).message}`);
  }
  const names = (x509.subjectAltName ?? '')
    .split(', ')
    .map((n) => n.replace(/^(DNS|IP Address):/, ''))
    .filter((n) => n !== '');
  return { key, cert, fingerprint256: x509.fingerprint256, selfSigned, names };
}

/** Makes a self-signed certificate for localhost, this host's name and its addresses. */
export async function selfSignedCertificate(now = new Date()): Promise<TlsMaterial> {
  const host = hostname();
  const dns = [...new Set(['localhost', host, ...(host.includes('.') ? [] : [`${host}.local`])])];
  const ips = [...new Set(['127.0.0.1', '::1', ...lanAddresses()])];
  const notAfter = new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...dns.map((value) => ({ type: 2 as const, value })),
          ...ips.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return describe(pems.private, pems.cert, true);
}

/** The TLS material the options ask for, or null for plain HTTP only. Throws `TlsConfigError`. */
export async function loadTls(config: TlsOptions): Promise<TlsMaterial | null> {
  if (!tlsRequested(config)) return null;
  const files = config.tlsCert !== undefined || config.tlsKey !== undefined;
  if (config.tls === 'self-signed' && files) {
    throw new TlsConfigError('--tls self-signed and --tls-cert/--tls-key exclude each other: pick one');
  }
  if (config.tls === 'self-signed') return selfSignedCertificate();
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    throw new TlsConfigError('--tls-cert and --tls-key go together: give both PEM files');
  }
  return describe(readPem(config.tlsKey, '--tls-key'), readPem(config.tlsCert, '--tls-cert'), false);
}
