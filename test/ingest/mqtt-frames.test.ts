import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { createFrameReader, type IncomingPublish } from '../../server/ingest/mqtt-frames.ts';

type Seen = { publish: Omit<IncomingPublish, 'payload'> & { payload: string } } | { other: string } | { malformed: string };

function reader(): { feed: (chunk: Buffer) => void; seen: Seen[] } {
  const seen: Seen[] = [];
  const feed = createFrameReader({
    publish: (publish) => seen.push({ publish: { ...publish, payload: publish.payload.toString('latin1') } }),
    other: (packet: Packet) => seen.push({ other: packet.cmd }),
    malformed: (reason) => seen.push({ malformed: reason }),
  });
  return { feed, seen };
}

// Over 16,383 bytes: a three-byte remaining length.
const big = Buffer.alloc(20_000, 'x');
const packets: Packet[] = [
  { cmd: 'connack', returnCode: 0, sessionPresent: true },
  { cmd: 'suback', messageId: 1, granted: [1, 1] },
  { cmd: 'publish', topic: 'coffee/v1/cm-frames/evt/brew', payload: Buffer.from('{"v":1}'), qos: 1, messageId: 65535, dup: false, retain: false },
  { cmd: 'publish', topic: 'coffee/v1/cm-frames/state', payload: Buffer.from('online'), qos: 0, dup: false, retain: true },
  { cmd: 'publish', topic: 'coffee/v1/cm-ünïcode/evt/fault', payload: big, qos: 1, messageId: 7, dup: true, retain: false },
  { cmd: 'pingresp' },
];
const bytes = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
const expected: Seen[] = [
  { other: 'connack' },
  { other: 'suback' },
  { publish: { topic: 'coffee/v1/cm-frames/evt/brew', qos: 1, messageId: 65535, payload: '{"v":1}' } },
  { publish: { topic: 'coffee/v1/cm-frames/state', qos: 0, messageId: undefined, payload: 'online' } },
  { publish: { topic: 'coffee/v1/cm-ünïcode/evt/fault', qos: 1, messageId: 7, payload: big.toString('latin1') } },
  { other: 'pingresp' },
];

describe('MQTT frame reader', () => {
  it('decodes PUBLISH itself and hands other packets to mqtt-packet, whatever the chunking', () => {
    for (const size of [bytes.length, 1, 2, 3, 7, 1_000, 16_384]) {
      const { feed, seen } = reader();
      for (let at = 0; at < bytes.length; at += size) feed(bytes.subarray(at, at + size));
      expect(seen, `chunks of ${size}`).toEqual(expected);
    }
  });

  it('reports a remaining length of more than four bytes, or QoS 3, once, and reads nothing after', () => {
    const tooLong = reader();
    tooLong.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    tooLong.feed(mqttPacket.generate({ cmd: 'pingresp' }));
    expect(tooLong.seen).toEqual([{ malformed: 'remaining length longer than four bytes' }]);

    const qos3 = reader();
    qos3.feed(Buffer.from([0x36, 0x04, 0x00, 0x01, 0x61, 0x00]));
    expect(qos3.seen).toEqual([{ malformed: 'PUBLISH with QoS 3' }]);

    const truncated = reader();
    truncated.feed(Buffer.from([0x32, 0x03, 0x00, 0x05, 0x61]));
    expect(truncated.seen).toEqual([{ malformed: 'PUBLISH shorter than its topic and packet id' }]);
  });
});
