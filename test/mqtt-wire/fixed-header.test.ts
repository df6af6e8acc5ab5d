import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { INCOMPLETE, MALFORMED, readFixedHeader, readVariableByteInteger, vbiLength, vbiValue } from '../../mqtt-wire/fixed-header.ts';
import { encodePubacks, packAck } from '../../mqtt-wire/puback-batch.ts';

/** The examples of the spec's table (3.1.1 §2.2.3 table 2.4, v5 §1.5.5 table 1-1), smallest and largest of each size. */
const SPEC_EXAMPLES: Array<[number, number[]]> = [
  [0, [0x00]],
  [127, [0x7f]],
  [128, [0x80, 0x01]],
  [16_383, [0xff, 0x7f]],
  [16_384, [0x80, 0x80, 0x01]],
  [2_097_151, [0xff, 0xff, 0x7f]],
  [2_097_152, [0x80, 0x80, 0x80, 0x01]],
  [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
];

describe('the Variable Byte Integer / Remaining Length decoder', () => {
  it('reads every example of the spec, with its length, at any offset', () => {
    for (const [value, bytes] of SPEC_EXAMPLES) {
      const buffer = Uint8Array.from([0xaa, ...bytes, 0xbb]);
      const packed = readVariableByteInteger(buffer, 1, buffer.length);
      expect([vbiValue(packed), vbiLength(packed)], `${value}`).toEqual([value, bytes.length]);
    }
  });

  it('says incomplete until the last byte is there, and malformed for a fifth byte', () => {
    const bytes = [0x80, 0x80, 0x80, 0x01];
    for (let end = 0; end < bytes.length; end++) expect(readVariableByteInteger(Uint8Array.from(bytes), 0, end)).toBe(INCOMPLETE);
    expect(readVariableByteInteger(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x01]), 0, 5)).toBe(MALFORMED);
  });

  it('finds the fixed header of packets mqtt-packet encodes, 3.1.1 and 5', () => {
    for (const protocolVersion of [4, 5]) {
      for (const size of [0, 100, 200, 16_400]) {
        const packet: Packet = { cmd: 'publish', topic: 't', payload: Buffer.alloc(size), qos: 0, retain: false, dup: false };
        const bytes = mqttPacket.generate(packet, { protocolVersion });
        const packed = readFixedHeader(bytes, 0, bytes.length);
        expect(1 + vbiLength(packed) + vbiValue(packed)).toBe(bytes.length);
      }
    }
  });
});

describe('the PUBACK batch encoder', () => {
  /** Parses `bytes` with mqtt-packet, the independent decoder. */
  function parse(bytes: Buffer, protocolVersion: 4 | 5): Packet[] {
    const parser = mqttPacket.parser({ protocolVersion });
    const packets: Packet[] = [];
    parser.on('packet', (p: Packet) => packets.push(p));
    parser.on('error', (error: Error) => {
      throw error;
    });
    parser.parse(bytes);
    return packets;
  }

  it('writes four bytes per success, which 3.1.1 and 5 both read as PUBACK [MQTT-3.4.2-1]', () => {
    const ids = [1, 2, 255, 256, 65_535];
    const bytes = encodePubacks(ids.map((id) => packAck(id)));
    expect(bytes.length).toBe(ids.length * 4);
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x40, 0x02, 0x00, 0x01]));
    for (const v of [4, 5] as const) {
      expect(parse(bytes, v).map((p) => [p.cmd, p.messageId, (p as { reasonCode?: number }).reasonCode ?? 0])).toEqual(ids.map((id) => ['puback', id, 0]));
    }
  });

  it('writes a v5 reason code in five bytes, between short ones', () => {
    const bytes = encodePubacks([packAck(7), packAck(8, 0x80), packAck(65_535, 0x97), packAck(9)]);
    expect(bytes.length).toBe(4 + 5 + 5 + 4);
    expect(parse(bytes, 5).map((p) => [p.messageId, (p as { reasonCode?: number }).reasonCode ?? 0])).toEqual([
      [7, 0],
      [8, 0x80],
      [65_535, 0x97],
      [9, 0],
    ]);
  });
});
