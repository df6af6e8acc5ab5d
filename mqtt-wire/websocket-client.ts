import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';

/** RFC 6455 §1.3: what the server hashes with our key to prove it speaks WebSocket. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const Opcode = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;
/** Control frames carry at most 125 bytes (RFC 6455 §5.5). */
const MAX_CONTROL_PAYLOAD = 125;

/** Mask keys come from the system's random source (RFC 6455 §5.3), drawn in blocks rather than per frame. */
const maskPool = Buffer.alloc(4_096);
let maskAt = maskPool.length;
function nextMask(): Buffer {
  if (maskAt + 4 > maskPool.length) {
    randomFillSync(maskPool);
    maskAt = 0;
  }
  maskAt += 4;
  return maskPool.subarray(maskAt - 4, maskAt);
}

/** One client frame: FIN set, masked as a client must (RFC 6455 §5.1, §5.2). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length <= 0xffff ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + lengthBytes + 4 + length);
  out[0] = 0x80 | opcode;
  if (lengthBytes === 0) out[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const maskAt = 2 + lengthBytes;
  nextMask().copy(out, maskAt);
  for (let i = 0; i < length; i++) out[maskAt + 4 + i] = payload[i]! ^ out[maskAt + (i & 3)]!;
  return out;
}

/**
 * MQTT over a WebSocket, as a byte stream (3.1.1 §6, v5 §6): the client offers the subprotocol
 * "mqtt" and the server must pick it; MQTT travels in binary frames, and a text frame closes the
 * connection; frame boundaries mean nothing to MQTT, so each binary payload is pushed on as it comes.
 * Written on node:http because mqtt-wire uses no WebSocket package (it is the client's only
 * transport that needs more than node:net/node:tls).
 *
 * Bytes written before the upgrade completes wait for it.
 */
export class WebSocketStream extends Duplex {
  private readonly request: ClientRequest;
  private socket: Socket | null = null;
  private waiting: Array<{ chunk: Buffer; callback: (error?: Error | null) => void }> = [];
  private partial: Buffer | null = null;
  private closeSent = false;

  constructor(url: URL, tls: ConnectionOptions = {}) {
    super();
    const key = randomBytes(16).toString('base64');
    const secure = url.protocol === 'wss:';
    const headers = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': 'mqtt' };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const target = { host, port: Number(url.port || (secure ? 443 : 80)), path: `${url.pathname}${url.search}`, headers };
    this.request = secure ? httpsRequest({ ...target, ...tls }) : httpRequest(target);
    this.request.on('upgrade', (response, socket, head) => {
      const accept = createHash('sha1')
        .update(key + ACCEPT_GUID)
        .digest('base64');
      if (response.headers['sec-websocket-accept'] !== accept)
        return this.destroy(Object.assign(new Error('WebSocket handshake: wrong Sec-WebSocket-Accept'), { code: 'EPROTO' }));
      if (response.headers['sec-websocket-protocol'] !== 'mqtt')
        return this.destroy(Object.assign(new Error('WebSocket handshake: the server did not choose the "mqtt" subprotocol'), { code: 'EPROTO' }));
      this.attach(socket, head);
    });
    this.request.on('response', (response) => {
      response.resume();
      this.destroy(Object.assign(new Error(`WebSocket upgrade refused: HTTP ${response.statusCode}`), { code: 'ECONNREFUSED' }));
    });
    this.request.on('error', (error) => this.destroy(error));
    this.request.end();
  }

  private attach(socket: Socket, head: Buffer): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => {
      this.push(null);
      this.destroy();
    });
    if (head.length > 0) this.onData(head);
    const waiting = this.waiting;
    this.waiting = [];
    for (const { chunk, callback } of waiting) socket.write(frame(Opcode.BINARY, chunk), callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket === null) this.waiting.push({ chunk, callback });
    else this.socket.write(frame(Opcode.BINARY, chunk), callback);
  }

  /** Flow control: a paused reader pauses the socket (see onData), reading resumes it. */
  override _read(): void {
    this.socket?.resume();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendClose();
    this.socket?.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.request.destroy();
    this.socket?.destroy();
    for (const { callback: done } of this.waiting) done(error ?? new Error('WebSocket closed'));
    this.waiting = [];
    callback(error);
  }

  private sendClose(): void {
    if (this.closeSent || this.socket === null) return;
    this.closeSent = true;
    this.socket.write(frame(Opcode.CLOSE, Buffer.from([0x03, 0xe8])));
  }

  /** Server frames are never masked (RFC 6455 §5.1); their payloads are the MQTT byte stream. */
  private onData(chunk: Buffer): void {
    let data = this.partial === null ? chunk : Buffer.concat([this.partial, chunk]);
    this.partial = null;
    while (data.length >= 2) {
      const first = data[0]!;
      const second = data[1]!;
      if ((first & 0x70) !== 0 || (second & 0x80) !== 0) return void this.fail('WebSocket frame with reserved bits or a mask from the server');
      const opcode = first & 0x0f;
      let length = second & 0x7f;
      let at = 2;
      if (length === 126) {
        if (data.length < 4) break;
        length = data.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (data.length < 10) break;
        const long = data.readBigUInt64BE(2);
        if (long > BigInt(Number.MAX_SAFE_INTEGER)) return void this.fail('WebSocket frame too large');
        length = Number(long);
        at = 10;
      }
      if (data.length < at + length) break;
      const payload = data.subarray(at, at + length);
      data = data.subarray(at + length);
      if (!this.onFrame(opcode, payload)) return;
    }
    if (data.length > 0) this.partial = Buffer.from(data);
  }

  /** False once the connection is being closed. */
  private onFrame(opcode: number, payload: Buffer): boolean {
    switch (opcode) {
      case Opcode.BINARY:
      case Opcode.CONTINUATION:
        if (!this.push(payload)) this.socket?.pause();
        return true;
      case Opcode.PING:
        if (payload.length > MAX_CONTROL_PAYLOAD) return this.fail('WebSocket ping too large');
        this.socket?.write(frame(Opcode.PONG, payload));
        return true;
      case Opcode.PONG:
        return true;
      case Opcode.CLOSE:
        this.sendClose();
        this.socket?.end();
        return false;
      default:
        // A text frame (or an unknown opcode) is not MQTT: close the connection.
        return this.fail(`WebSocket frame with opcode ${opcode}; MQTT travels in binary frames`);
    }
  }

  private fail(reason: string): false {
    this.destroy(Object.assign(new Error(reason), { code: 'EPROTO' }));
    return false;
  }
}
