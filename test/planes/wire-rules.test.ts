import { describe, expect, it } from 'vitest';
import { PacketType } from '../../mqtt-wire/codes.ts';
import { mqttPackets } from '../support/mqtt-stream.ts';
import { readPcap, tcpStreams } from '../support/pcap.ts';
import { flowsOf, readWire, traceMisdirected, type LabNetwork } from './wire-rules.ts';

/**
 * The capture reader of the planes lab on captures written here byte by byte (pcap, Ethernet,
 * IPv4, TCP as tcpdump writes them), so what the lab test concludes from a capture rests on a reader
 * that is itself checked: segments out of order and retransmitted, a packet split across segments,
 * frames it does not read.
 */
const ipBytes = (address: string) => address.split('.').map(Number);

function tcpFrame(src: string, srcPort: number, dst: string, dstPort: number, seq: number, payload: Buffer, syn = false): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(srcPort, 0);
  tcp.writeUInt16BE(dstPort, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp[12] = 5 << 4;
  tcp[13] = syn ? 0x02 : 0x18;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  ip.set(ipBytes(src), 12);
  ip.set(ipBytes(dst), 16);
  const ethernet = Buffer.alloc(14);
  ethernet.writeUInt16BE(0x0800, 12);
  return Buffer.concat([ethernet, ip, tcp, payload]);
}

function otherFrame(etherType: number): Buffer {
  const frame = Buffer.alloc(60);
  frame.writeUInt16BE(etherType, 12);
  return frame;
}

function pcapOf(frames: Buffer[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262_144, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map((frame) => {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    return Buffer.concat([record, frame]);
  });
  return Buffer.concat([header, ...records]);
}

const DEVICE = 'cm-abcdefghijklmnop';
const connect = Buffer.concat([Buffer.from([0x10, 2 + 19]), Buffer.from([0, 19]), Buffer.from(DEVICE)]);
const publish = Buffer.from([0x30, 3, 0, 1, 0x61]);
const network: LabNetwork = {
  names: new Map([
    ['10.1.1.2', 'plane-eu'],
    ['10.1.2.2', 'plane-us'],
    ['10.1.3.2', 'directory'],
    ['10.1.4.2', 'devices'],
  ]),
  services: new Map([
    ['10.1.1.2', [8080, 1883]],
    ['10.1.2.2', [8080, 1883]],
    ['10.1.3.2', [8090]],
  ]),
};
const at = { plane: '10.1.1.2', broker: 1883, directory: '10.1.3.2', directoryPort: 8090 };

describe('the planes lab capture reader', () => {
  it('reassembles a stream from segments out of order and retransmitted, and splits it into MQTT packets', () => {
    const isn = 0xffff_fff0; // the stream's sequence numbers wrap
    const bytes = Buffer.concat([connect, publish]);
    const frames = readPcap(
      pcapOf([
        tcpFrame('10.1.4.2', 40000, '10.1.1.2', 1883, isn, Buffer.alloc(0), true),
        tcpFrame('10.1.4.2', 40000, '10.1.1.2', 1883, isn + 1 + 10, bytes.subarray(10)),
        tcpFrame('10.1.4.2', 40000, '10.1.1.2', 1883, isn + 1, bytes.subarray(0, 10)),
        tcpFrame('10.1.4.2', 40000, '10.1.1.2', 1883, isn + 1, bytes.subarray(0, 10)),
        otherFrame(0x0806),
      ]),
    );
    expect(frames.map((f) => f.kind)).toEqual(['ipv4', 'ipv4', 'ipv4', 'ipv4', 'arp']);
    const [stream] = tcpStreams(frames);
    expect(stream!.bytes.equals(bytes)).toBe(true);
    expect(mqttPackets(stream!.bytes).map((p) => p.type)).toEqual([PacketType.CONNECT, PacketType.PUBLISH]);
  });

  it('names every flow by client, server and port, and lists what it cannot place as it is', () => {
    const wire = readWire(
      pcapOf([
        tcpFrame('10.1.4.2', 40000, '10.1.1.2', 1883, 1, connect),
        tcpFrame('10.1.3.2', 8090, '10.1.1.2', 50000, 1, Buffer.from('HTTP/1.1 200 OK\r\n\r\n')),
        tcpFrame('10.1.1.2', 50001, '10.1.2.2', 8080, 1, Buffer.from('GET / HTTP/1.1\r\n\r\n')),
        tcpFrame('10.1.1.2', 50002, '10.1.4.2', 6000, 1, Buffer.from('x')),
        otherFrame(0x86dd),
      ]),
    );
    expect([...flowsOf(wire, network)]).toEqual([
      'devices→plane-eu:1883',
      'plane-eu→directory:8090',
      'plane-eu→plane-us:8080',
      'plane-eu:50002→devices:6000 (no service)',
      'ethertype 0x86dd',
    ]);
  });

  it('lets a misdirected device’s id through in its CONNECT and the lookup of it only', () => {
    const lookup = Buffer.from(`GET /api/v1/directory/devices/${DEVICE} HTTP/1.1\r\nhost: 10.1.3.2\r\n\r\n`);
    const answer = Buffer.from(`HTTP/1.1 200 OK\r\n\r\n{"deviceId":"${DEVICE}","region":"us"}`);
    const allowed = [
      tcpFrame('10.1.4.2', 40000, '10.1.1.2', 1883, 1, connect),
      tcpFrame('10.1.1.2', 50000, '10.1.3.2', 8090, 1, lookup),
      tcpFrame('10.1.3.2', 8090, '10.1.1.2', 50000, 1, answer),
    ];
    expect(traceMisdirected(readWire(pcapOf(allowed)), DEVICE, at)).toEqual({ connections: [[PacketType.CONNECT]], lookups: 1, elsewhere: [] });

    const accepted = tcpFrame('10.1.4.2', 40001, '10.1.1.2', 1883, 1, Buffer.concat([connect, publish]));
    const erasure = tcpFrame('10.1.1.2', 50001, '10.1.3.2', 8090, 1, Buffer.from(`DELETE /api/v1/directory/devices/${DEVICE} HTTP/1.1\r\n\r\n`));
    const relayed = tcpFrame('10.1.1.2', 50002, '10.1.2.2', 8080, 1, Buffer.from(DEVICE));
    const trace = traceMisdirected(readWire(pcapOf([...allowed, accepted, erasure, relayed])), DEVICE, at);
    expect(trace.elsewhere).toEqual([
      '10.1.4.2:40001→10.1.1.2:1883: MQTT packets of types 1,3',
      '10.1.1.2:50001→10.1.3.2:8090: the id outside a lookup request line',
      '10.1.1.2:50002→10.1.2.2:8080',
    ]);
  });
});
