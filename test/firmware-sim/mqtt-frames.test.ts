import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { FrameReader, type IncomingPacket } from '../../firmware-sim/mqtt-frames.ts';

const bytes = (...packets: mqttPacket.Packet[]): Buffer => Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
const big = 'x'.repeat(20_000);
const stream = bytes(
  { cmd: 'connack', sessionPresent: true, returnCode: 0 },
  { cmd: 'suback', messageId: 7, granted: [1, 128] },
  { cmd: 'publish', topic: 'coffee/v1/cm-a/cmd/reboot', payload: Buffer.from('{"v":1}'), qos: 1, messageId: 300, retain: false, dup: false },
  { cmd: 'puback', messageId: 65_535 },
  { cmd: 'publish', topic: 'coffee/v1/cm-a/consent', payload: Buffer.from(big), qos: 0, retain: true, dup: false },
  { cmd: 'pubrel', messageId: 9 },
  { cmd: 'pingresp' },
);
const expected: IncomingPacket[] = [
  { cmd: 'connack', sessionPresent: true, returnCode: 0 },
  { cmd: 'suback', messageId: 7, granted: [1, 128] },
  { cmd: 'publish', topic: 'coffee/v1/cm-a/cmd/reboot', payload: Buffer.from('{"v":1}'), qos: 1, messageId: 300 },
  { cmd: 'puback', messageId: 65_535 },
  { cmd: 'publish', topic: 'coffee/v1/cm-a/consent', payload: Buffer.from(big), qos: 0, messageId: 0 },
  { cmd: 'pubrel', messageId: 9 },
  { cmd: 'pingresp' },
];

function readAll(chunks: Buffer[]): { packets: IncomingPacket[]; errors: string[] } {
  const reader = new FrameReader();
  const packets: IncomingPacket[] = [];
  const errors: string[] = [];
  for (const chunk of chunks) {
    const error = reader.push(chunk, (p) => packets.push(p));
    if (error !== null) errors.push(error);
  }
  return { packets, errors };
}

describe('MQTT frame reader (checked against mqtt-packet as the encoder)', () => {
  it('reads packets whole, in one chunk', () => {
    expect(readAll([stream])).toEqual({ packets: expected, errors: [] });
  });

  it('reads the same packets however the stream is cut, down to single bytes', () => {
    for (const size of [1, 2, 3, 5, 64, 4_096]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      expect(readAll(chunks)).toEqual({ packets: expected, errors: [] });
    }
  });

  it('refuses a broken stream instead of waiting forever or crashing', () => {
    expect(readAll([Buffer.from([0x20, 0xff, 0xff, 0xff, 0xff, 0x01])]).errors).toEqual(['malformed remaining length']);
    expect(readAll([Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00])]).errors).toEqual(['malformed CONNACK']);
    expect(readAll([Buffer.from([0x30, 0x03, 0x00, 0x09, 0x61])]).errors).toEqual(['malformed PUBLISH']);
    expect(readAll([bytes({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'x', keepalive: 0 })]).packets)
      .toEqual([{ cmd: 'unexpected', type: 1 }]);
  });
});
