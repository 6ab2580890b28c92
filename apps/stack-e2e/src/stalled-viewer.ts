import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/*
 * A viewer that joins a room and then stops reading its socket, as a frozen
 * tab or a phone that lost its radio would: the gateway's writes pile up in
 * the kernel, then in the gateway's own send buffer, which is what its
 * latest-frame-wins policy must keep bounded. Written on a bare TCP socket
 * (a hand-made WebSocket handshake and one masked text frame) so that
 * nothing in this process reads on its behalf.
 */
export class StalledViewer {
  private constructor(readonly socket: Socket) {}

  static async join(port: number, room: string): Promise<StalledViewer> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await new Promise<void>((resolve, reject) => {
      let head = '';
      const onData = (d: Buffer): void => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        if (/^HTTP\/1\.1 101/.test(head)) resolve();
        else reject(new Error(`WebSocket upgrade refused: ${head.split('\r\n')[0]}`));
      };
      socket.on('data', onData);
    });
    socket.write(maskedTextFrame(JSON.stringify({ type: 'join', room })));
    // From here on nothing reads: the socket is paused for good.
    socket.pause();
    return new StalledViewer(socket);
  }

  /** Reads again for `ms`, then stops: a viewer that is slow rather than gone. */
  async readFor(ms: number): Promise<number> {
    let bytes = 0;
    const onData = (d: Buffer): void => {
      bytes += d.length;
    };
    this.socket.on('data', onData);
    this.socket.resume();
    await new Promise((r) => setTimeout(r, ms));
    this.socket.pause();
    this.socket.off('data', onData);
    return bytes;
  }

  get open(): boolean {
    return !this.socket.destroyed;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One client-to-server text frame (FIN, opcode 1, masked; payload under 126 bytes). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length >= 126) throw new Error('control message too long for this tiny framer');
  const mask = randomBytes(4);
  const out = Buffer.alloc(2 + 4 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}
