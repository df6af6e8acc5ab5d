import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../mqtt-wire/frame-reader.ts';
import type { ControlPacket, IncomingPublish } from '../../mqtt-wire/packets.ts';

type Seen = { publish: Omit<IncomingPublish, 'payload'> & { payload: string } } | { control: ControlPacket } | { malformed: string };

function reader(version: 4 | 5, maxPacketBytes?: number): { reader: FrameReader; seen: Seen[] } {
  const seen: Seen[] = [];
  const sink = {
    onPublish: (p: IncomingPublish) => void seen.push({ publish: { ...p, payload: p.payload.toString('latin1') } }),
    onControl: (c: ControlPacket) => void seen.push({ control: c }),
    onMalformed: (reason: string) => void seen.push({ malformed: reason }),
  };
  return { reader: new FrameReader(sink, version, 3, maxPacketBytes), seen };
}

const encode = (version: 4 | 5, packets: Packet[]): Buffer => Buffer.concat(packets.map((p) => mqttPacket.generate(p, { protocolVersion: version })));
const publish = (
  topic: string,
  payload: string,
  qos: 0 | 1 | 2,
  messageId: number | undefined,
  extra: Partial<Omit<IncomingPublish, 'payload'>> = {},
): Seen => ({
  publish: { topic, payload, qos, messageId: messageId ?? 0, dup: false, retain: false, properties: undefined, connection: 3, ...extra },
});

// A packet over 127 bytes: a two-byte remaining length inside the stream cut at every size.
const medium = 'm'.repeat(300);
const V4_PACKETS: Packet[] = [
  { cmd: 'connack', returnCode: 0, sessionPresent: true },
  { cmd: 'suback', messageId: 1, granted: [1, 128] },
  { cmd: 'publish', topic: 'coffee/v1/cm-frames/cmd/reboot', payload: Buffer.from('{"v":1}'), qos: 1, messageId: 65_535, dup: false, retain: false },
  { cmd: 'publish', topic: 'coffee/v1/cm-frames/state', payload: Buffer.from('online'), qos: 0, dup: false, retain: true },
  { cmd: 'publish', topic: 'coffee/v1/cm-ünïcode/consent', payload: Buffer.from(medium), qos: 1, messageId: 7, dup: true, retain: false },
  { cmd: 'puback', messageId: 300 },
  { cmd: 'pubrel', messageId: 9 },
  { cmd: 'pingresp' },
];
const V4_EXPECTED: Seen[] = [
  { control: { cmd: 'connack', sessionPresent: true, reasonCode: 0, properties: undefined } },
  { control: { cmd: 'suback', messageId: 1, granted: [1, 128], properties: undefined } },
  publish('coffee/v1/cm-frames/cmd/reboot', '{"v":1}', 1, 65_535),
  publish('coffee/v1/cm-frames/state', 'online', 0, undefined, { retain: true }),
  publish('coffee/v1/cm-ünïcode/consent', medium, 1, 7, { dup: true }),
  { control: { cmd: 'puback', messageId: 300, reasonCode: 0, properties: undefined } },
  { control: { cmd: 'pubrel', messageId: 9, reasonCode: 0, properties: undefined } },
  { control: { cmd: 'pingresp' } },
];

const correlationData = Buffer.from([0, 1, 2, 255]);
const V5_PACKETS: Packet[] = [
  {
    cmd: 'connack',
    reasonCode: 0,
    sessionPresent: false,
    properties: { receiveMaximum: 20, topicAliasMaximum: 10, maximumPacketSize: 65_536, assignedClientIdentifier: 'auto-1', serverKeepAlive: 45 },
  },
  { cmd: 'suback', messageId: 2, granted: [1, 0x87, 0x9e], properties: { reasonString: 'not for you' } },
  {
    cmd: 'publish',
    topic: 'coffee/v1/cm-frames/cmd/set-recipe',
    payload: Buffer.from('{"v":1}'),
    qos: 1,
    messageId: 11,
    dup: false,
    retain: false,
    properties: {
      payloadFormatIndicator: true,
      contentType: 'application/json',
      messageExpiryInterval: 86_400,
      responseTopic: 'coffee/v1/cm-frames/cmd-result/set-recipe',
      correlationData,
      userProperties: { contract: '1', consent: ['3', '4'] },
      subscriptionIdentifier: 5,
    },
  },
  { cmd: 'publish', topic: 'coffee/v1/cm-frames/state', payload: Buffer.from(medium), qos: 0, dup: false, retain: true },
  {
    cmd: 'publish',
    topic: 'coffee/v1/cm-frames/evt/brew',
    payload: Buffer.from('aliased'),
    qos: 1,
    messageId: 12,
    dup: false,
    retain: false,
    properties: { topicAlias: 3 },
  },
  { cmd: 'puback', messageId: 13 },
  { cmd: 'puback', messageId: 14, reasonCode: 0x10 },
  { cmd: 'puback', messageId: 15, reasonCode: 0x87, properties: { reasonString: 'denied' } },
  { cmd: 'pingresp' },
  { cmd: 'disconnect', reasonCode: 0x9c, properties: { serverReference: 'mqtt://eu.example:1883', reasonString: 'go to eu' } },
];
const V5_EXPECTED: Seen[] = [
  {
    control: {
      cmd: 'connack',
      sessionPresent: false,
      reasonCode: 0,
      properties: { receiveMaximum: 20, topicAliasMaximum: 10, maximumPacketSize: 65_536, assignedClientIdentifier: 'auto-1', serverKeepAlive: 45 },
    },
  },
  { control: { cmd: 'suback', messageId: 2, granted: [1, 0x87, 0x9e], properties: { reasonString: 'not for you' } } },
  publish('coffee/v1/cm-frames/cmd/set-recipe', '{"v":1}', 1, 11, {
    properties: {
      payloadFormatIndicator: true,
      contentType: 'application/json',
      messageExpiryInterval: 86_400,
      responseTopic: 'coffee/v1/cm-frames/cmd-result/set-recipe',
      correlationData,
      userProperties: { contract: '1', consent: ['3', '4'] },
      subscriptionIdentifier: 5,
    },
  }),
  publish('coffee/v1/cm-frames/state', medium, 0, undefined, { retain: true }),
  publish('coffee/v1/cm-frames/evt/brew', 'aliased', 1, 12, { properties: { topicAlias: 3 } }),
  { control: { cmd: 'puback', messageId: 13, reasonCode: 0, properties: undefined } },
  { control: { cmd: 'puback', messageId: 14, reasonCode: 0x10, properties: undefined } },
  { control: { cmd: 'puback', messageId: 15, reasonCode: 0x87, properties: { reasonString: 'denied' } } },
  { control: { cmd: 'pingresp' } },
  { control: { cmd: 'disconnect', reasonCode: 0x9c, properties: { serverReference: 'mqtt://eu.example:1883', reasonString: 'go to eu' } } },
];

describe.each([
  { version: 4 as const, packets: V4_PACKETS, expected: V4_EXPECTED },
  { version: 5 as const, packets: V5_PACKETS, expected: V5_EXPECTED },
])('the frame reader, MQTT protocol level $version (mqtt-packet as the encoder)', ({ version, packets, expected }) => {
  const stream = encode(version, packets);

  it('reads the same packets whatever the chunk size, from one byte to the whole stream', () => {
    for (let size = 1; size <= stream.length; size++) {
      const { reader: r, seen } = reader(version);
      for (let at = 0; at < stream.length; at += size) r.push(stream.subarray(at, at + size));
      expect(seen, `chunks of ${size}`).toEqual(expected);
    }
  });

  it('reads them cut in two at every byte', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const { reader: r, seen } = reader(version);
      r.push(stream.subarray(0, cut));
      r.push(stream.subarray(cut));
      expect(seen, `cut at ${cut}`).toEqual(expected);
    }
  });

  it('reads a packet with a three-byte remaining length, whole or in pieces', () => {
    const big = 'x'.repeat(20_000);
    const bytes = encode(version, [
      { cmd: 'publish', topic: 'coffee/v1/cm-big/consent', payload: Buffer.from(big), qos: 1, messageId: 4, dup: false, retain: true },
    ]);
    for (const size of [1, 2, 3, 7, 1_000, 16_384, bytes.length]) {
      const { reader: r, seen } = reader(version);
      for (let at = 0; at < bytes.length; at += size) r.push(bytes.subarray(at, at + size));
      expect(seen).toEqual([publish('coffee/v1/cm-big/consent', big, 1, 4, { retain: true })]);
    }
  });
});

describe('the frame reader refuses a broken stream once and reads nothing after', () => {
  const cases: Array<[string, 4 | 5, number[], string]> = [
    ['a remaining length of five bytes', 4, [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 'remaining length longer than four bytes'],
    ['QoS 3 [MQTT-3.3.1-4]', 4, [0x36, 0x04, 0x00, 0x01, 0x61, 0x00], 'PUBLISH with QoS 3'],
    ['a PUBLISH shorter than its packet id', 4, [0x32, 0x03, 0x00, 0x01, 0x61], 'PUBLISH shorter than its topic and packet id'],
    ['a PUBLISH with packet id 0 [MQTT-2.3.1-1]', 4, [0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00], 'PUBLISH with packet id 0'],
    ['a PUBACK with flags set [MQTT-2.2.2-2]', 4, [0x42, 0x02, 0x00, 0x01], 'packet type 4 with flags 2'],
    ['a PUBREL without its 0b0010 flags [MQTT-3.6.1-1]', 4, [0x60, 0x02, 0x00, 0x01], 'packet type 6 with flags 0'],
    ['a 3.1.1 PUBACK of three bytes', 4, [0x40, 0x03, 0x00, 0x01, 0x00], 'malformed PUBACK'],
    ['a CONNACK with reserved flags [MQTT-3.2.2-1]', 4, [0x20, 0x02, 0x02, 0x00], 'CONNACK with reserved flags set'],
    ['a PINGRESP with a body', 4, [0xd0, 0x01, 0x00], 'malformed PINGRESP'],
    ['a SUBACK without codes', 4, [0x90, 0x02, 0x00, 0x01], 'malformed SUBACK'],
    ['a v5 property given twice', 5, [0x40, 0x0a, 0x00, 0x01, 0x00, 0x06, 0x1f, 0x00, 0x00, 0x1f, 0x00, 0x00], 'property reasonString given twice'],
    ['a v5 property length past the packet', 5, [0x40, 0x05, 0x00, 0x01, 0x00, 0x09, 0x1f], 'property length beyond the packet'],
    ['an unknown v5 property', 5, [0x40, 0x05, 0x00, 0x01, 0x00, 0x01, 0x7f], 'unknown property 0x7f'],
  ];
  it.each(cases)('%s', (_name, version, bytes, reason) => {
    const { reader: r, seen } = reader(version);
    r.push(Buffer.from(bytes));
    r.push(mqttPacket.generate({ cmd: 'pingresp' }));
    expect(seen).toEqual([{ malformed: reason }]);
  });

  it('a packet over the announced maximum, from its header alone', () => {
    const { reader: r, seen } = reader(5, 1_024);
    r.push(
      mqttPacket
        .generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(2_000), qos: 0, dup: false, retain: false }, { protocolVersion: 5 })
        .subarray(0, 4),
    );
    expect(seen).toEqual([{ malformed: 'packet too large' }]);
  });

  it('hands packets a server never sends a client over as unexpected, and a 3.1.1 server DISCONNECT too', () => {
    const { reader: r, seen } = reader(4);
    r.push(encode(4, [{ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'x', keepalive: 0 }, { cmd: 'disconnect' }]));
    expect(seen).toEqual([{ control: { cmd: 'unexpected', type: 1 } }, { control: { cmd: 'unexpected', type: 14 } }]);
  });
});
