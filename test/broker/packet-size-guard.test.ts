import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { createPacketSizeGuard } from '../../broker/packet-size-guard.ts';

/** A QoS 1 PUBLISH, encoded by mqtt-packet so the test does not lean on the decoder under test. */
const publish = (payloadBytes: number): Buffer =>
  mqttPacket.generate({
    cmd: 'publish',
    topic: 'coffee/v1/cm-alice0001/evt/brew',
    payload: Buffer.alloc(payloadBytes),
    qos: 1,
    messageId: 1,
    retain: false,
    dup: false,
  });
const ping = (): Buffer => Buffer.from([0xc0, 0x00]);

function feed(guard: (chunk: Uint8Array) => boolean, bytes: Buffer, chunkSize: number): boolean {
  let ok = true;
  for (let i = 0; i < bytes.length; i += chunkSize) ok = guard(bytes.subarray(i, i + chunkSize));
  return ok;
}

describe('packet size guard', () => {
  it('lets packets up to the limit through, whole or split at any byte', () => {
    const packet = publish(2000);
    for (const chunkSize of [1, 2, 3, 7, 64, packet.length]) {
      expect(feed(createPacketSizeGuard(packet.length), Buffer.concat([packet, ping(), packet]), chunkSize)).toBe(true);
    }
  });

  it('stops at the first packet over the limit, from its header alone', () => {
    const guard = createPacketSizeGuard(4096);
    expect(guard(Buffer.concat([publish(100), ping()]))).toBe(true);
    const big = publish(5000);
    // Only the fixed header has arrived: enough to refuse before the body is buffered.
    expect(guard(big.subarray(0, 4))).toBe(false);
    expect(guard(ping())).toBe(false);
  });

  it('counts the fixed header in the limit', () => {
    const packet = publish(300);
    expect(createPacketSizeGuard(packet.length)(packet)).toBe(true);
    expect(createPacketSizeGuard(packet.length - 1)(packet)).toBe(false);
  });

  it('refuses a malformed length field of more than four bytes', () => {
    expect(createPacketSizeGuard(1 << 28)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(false);
  });

  it('follows a packet with an empty body (PINGREQ) split between its two bytes', () => {
    const guard = createPacketSizeGuard(1024);
    const bytes = Buffer.concat([ping(), ping(), publish(10)]);
    for (const byte of bytes) expect(guard(Buffer.from([byte]))).toBe(true);
  });
});
