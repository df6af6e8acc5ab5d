import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { decodeConnack } from '../../mqtt-wire/decode-connack.ts';
import { decodeDisconnect } from '../../mqtt-wire/decode-disconnect.ts';
import { decodePingresp } from '../../mqtt-wire/decode-pingresp.ts';
import { decodePuback } from '../../mqtt-wire/decode-puback.ts';
import { decodePublish } from '../../mqtt-wire/decode-publish.ts';
import { decodeSuback } from '../../mqtt-wire/decode-suback.ts';
import { PacketType } from '../../mqtt-wire/codes.ts';
import { readFixedHeader, vbiLength } from '../../mqtt-wire/fixed-header.ts';

/** The packet's bytes and where its body starts, from mqtt-packet's encoder. */
function encoded(packet: Packet, protocolVersion: 4 | 5): { bytes: Buffer; start: number; flags: number } {
  const bytes = mqttPacket.generate(packet, { protocolVersion });
  return { bytes, start: 1 + vbiLength(readFixedHeader(bytes, 0, bytes.length)), flags: bytes[0]! & 0x0f };
}

/** What mqtt-packet's own parser reads from the same bytes: the oracle for properties. */
function oracle(bytes: Buffer, protocolVersion: 4 | 5): Packet {
  const parser = mqttPacket.parser({ protocolVersion });
  let packet: Packet | undefined;
  parser.on('packet', (p: Packet) => (packet = p));
  parser.parse(bytes);
  return packet!;
}

describe('CONNACK decoder', () => {
  it('reads 3.1.1 return codes 0-5 and the session-present flag', () => {
    for (const returnCode of [0, 1, 2, 3, 4, 5]) {
      const { bytes, start } = encoded({ cmd: 'connack', returnCode, sessionPresent: returnCode === 0 }, 4);
      expect(decodeConnack(bytes, start, bytes.length, 4)).toEqual({
        cmd: 'connack',
        sessionPresent: returnCode === 0,
        reasonCode: returnCode,
        properties: undefined,
      });
    }
  });

  it('reads a v5 refusal with a server reference (0x9C use another server), properties as mqtt-packet reads them', () => {
    const { bytes, start } = encoded(
      { cmd: 'connack', reasonCode: 0x9c, sessionPresent: false, properties: { serverReference: 'eu.brewtel.example:8883', reasonString: 'home plane is eu' } },
      5,
    );
    const decoded = decodeConnack(bytes, start, bytes.length, 5);
    expect(decoded).toEqual({
      cmd: 'connack',
      sessionPresent: false,
      reasonCode: 0x9c,
      properties: { serverReference: 'eu.brewtel.example:8883', reasonString: 'home plane is eu' },
    });
    expect(typeof decoded === 'object' && decoded.properties).toEqual((oracle(bytes, 5) as { properties?: unknown }).properties);
  });

  it('reads every server limit mqtt-packet can encode', () => {
    const properties = {
      sessionExpiryInterval: 3_600,
      receiveMaximum: 20,
      maximumQoS: 1,
      retainAvailable: false,
      maximumPacketSize: 268_435_455,
      assignedClientIdentifier: 'auto-A',
      topicAliasMaximum: 10,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: false,
      serverKeepAlive: 120,
      responseInformation: 'r/',
      userProperties: { region: 'eu' },
    };
    const { bytes, start } = encoded({ cmd: 'connack', reasonCode: 0, sessionPresent: true, properties }, 5);
    expect(decodeConnack(bytes, start, bytes.length, 5)).toEqual({ cmd: 'connack', sessionPresent: true, reasonCode: 0, properties });
    expect(properties).toEqual((oracle(bytes, 5) as { properties?: unknown }).properties);
  });
});

describe('PUBACK decoder (also PUBREL)', () => {
  it('reads the v5 forms: two bytes (0x00), three (a reason code), more (properties) [MQTT-3.4.2-1]', () => {
    const short = Buffer.from([0x40, 0x02, 0x01, 0x02]);
    expect(decodePuback(short, PacketType.PUBACK, 2, 4, 5)).toEqual({ cmd: 'puback', messageId: 258, reasonCode: 0, properties: undefined });
    const withCode = Buffer.from([0x40, 0x03, 0x00, 0x07, 0x87]);
    expect(decodePuback(withCode, PacketType.PUBACK, 2, 5, 5)).toEqual({ cmd: 'puback', messageId: 7, reasonCode: 0x87, properties: undefined });
    const { bytes, start } = encoded({ cmd: 'puback', messageId: 9, reasonCode: 0x97, properties: { reasonString: 'quota', userProperties: { a: 'b' } } }, 5);
    expect(decodePuback(bytes, PacketType.PUBACK, start, bytes.length, 5)).toEqual({
      cmd: 'puback',
      messageId: 9,
      reasonCode: 0x97,
      properties: { reasonString: 'quota', userProperties: { a: 'b' } },
    });
  });

  it('reads a PUBREL in both versions and refuses a 3.1.1 PUBACK that is not two bytes long', () => {
    const { bytes, start } = encoded({ cmd: 'pubrel', messageId: 40_000 }, 4);
    expect(decodePuback(bytes, PacketType.PUBREL, start, bytes.length, 4)).toEqual({ cmd: 'pubrel', messageId: 40_000, reasonCode: 0, properties: undefined });
    expect(decodePuback(Buffer.from([0x40, 0x03, 0, 1, 0]), PacketType.PUBACK, 2, 5, 4)).toBe('malformed PUBACK');
    expect(decodePuback(Buffer.from([0x40, 0x01, 0]), PacketType.PUBACK, 2, 3, 5)).toBe('malformed PUBACK');
  });
});

describe('SUBACK decoder', () => {
  it('reads 3.1.1 grants and the failure code 0x80 [MQTT-3.9.3-2], in filter order', () => {
    const { bytes, start } = encoded({ cmd: 'suback', messageId: 3, granted: [0, 1, 2, 128] }, 4);
    expect(decodeSuback(bytes, start, bytes.length, 4)).toEqual({ cmd: 'suback', messageId: 3, granted: [0, 1, 2, 128], properties: undefined });
  });

  it('reads v5 reason codes and properties', () => {
    const { bytes, start } = encoded({ cmd: 'suback', messageId: 4, granted: [1, 0x87, 0x9e, 0xa2], properties: { reasonString: 'see codes' } }, 5);
    expect(decodeSuback(bytes, start, bytes.length, 5)).toEqual({
      cmd: 'suback',
      messageId: 4,
      granted: [1, 0x87, 0x9e, 0xa2],
      properties: { reasonString: 'see codes' },
    });
  });
});

describe('PINGRESP decoder', () => {
  it('takes an empty body only', () => {
    expect(decodePingresp(2, 2)).toEqual({ cmd: 'pingresp' });
    expect(decodePingresp(2, 3)).toBe('malformed PINGRESP');
  });
});

describe('DISCONNECT decoder (v5 server DISCONNECT)', () => {
  it('reads the empty form as 0x00, a lone reason code, and reason code with properties', () => {
    expect(decodeDisconnect(Buffer.from([0xe0, 0x00]), 2, 2, 5)).toEqual({ cmd: 'disconnect', reasonCode: 0, properties: undefined });
    expect(decodeDisconnect(Buffer.from([0xe0, 0x01, 0x8e]), 2, 3, 5)).toEqual({ cmd: 'disconnect', reasonCode: 0x8e, properties: undefined });
    const { bytes, start } = encoded(
      { cmd: 'disconnect', reasonCode: 0x9d, properties: { serverReference: 'us.example', reasonString: 'moved', sessionExpiryInterval: 0 } },
      5,
    );
    expect(decodeDisconnect(bytes, start, bytes.length, 5)).toEqual({
      cmd: 'disconnect',
      reasonCode: 0x9d,
      properties: { serverReference: 'us.example', reasonString: 'moved', sessionExpiryInterval: 0 },
    });
  });

  it('has nothing to read in 3.1.1, where servers send none', () => {
    expect(decodeDisconnect(Buffer.from([0xe0, 0x00]), 2, 2, 4)).toBeNull();
  });
});

describe('PUBLISH decoder', () => {
  it('reads 3.1.1 and v5 alike when there are no properties; the payload is a view, not a copy', () => {
    for (const version of [4, 5] as const) {
      const { bytes, start, flags } = encoded(
        { cmd: 'publish', topic: 'a/b', payload: Buffer.from('xyz'), qos: 1, messageId: 5, dup: true, retain: true },
        version,
      );
      const decoded = decodePublish(bytes, flags, start, bytes.length, version, 9);
      expect(decoded).toMatchObject({ topic: 'a/b', qos: 1, messageId: 5, dup: true, retain: true, properties: undefined, connection: 9 });
      expect(typeof decoded === 'object' && decoded.payload.buffer).toBe(bytes.buffer);
    }
  });

  it('reads every v5 PUBLISH property as mqtt-packet does, repeated user properties in order [MQTT-3.3.2-18]', () => {
    const properties = {
      payloadFormatIndicator: true,
      messageExpiryInterval: 60,
      topicAlias: 2,
      responseTopic: 'coffee/v1/cm-a/cmd-result/reboot',
      correlationData: Buffer.from('c0ffee'),
      userProperties: { contract: '1', consent: ['7', '8', '9'] },
      subscriptionIdentifier: [3, 1_000_000],
      contentType: 'application/json',
    };
    const { bytes, start, flags } = encoded(
      { cmd: 'publish', topic: 'coffee/v1/cm-a/cmd/reboot', payload: Buffer.from('{}'), qos: 0, dup: false, retain: false, properties },
      5,
    );
    const decoded = decodePublish(bytes, flags, start, bytes.length, 5, 1);
    expect(typeof decoded === 'object' && decoded.properties).toEqual(properties);
    expect(typeof decoded === 'object' && decoded.properties).toEqual((oracle(bytes, 5) as { properties?: unknown }).properties);
    expect(typeof decoded === 'object' && decoded.payload.toString()).toBe('{}');
  });
});
