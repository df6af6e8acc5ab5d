import { PacketType } from '../../mqtt-wire/codes.ts';
import { mqttPackets } from '../support/mqtt-stream.ts';
import { readPcap, tcpStreams, type Frame, type TcpStream } from '../support/pcap.ts';

/**
 * What residency-in-transit.test.ts reads in a capture: which hosts of the lab talked, to which of
 * each other's services, and where a given text went. Hosts are named as the lab names them
 * (`plane-eu`, `directory`, `devices`); a service is a host's listening port.
 */
export interface LabNetwork {
  /** Host name by address. */
  names: ReadonlyMap<string, string>;
  /** The ports each host listens on; the other end of a connection to one of them is its client. */
  services: ReadonlyMap<string, readonly number[]>;
}

export interface Wire {
  frames: Frame[];
  streams: TcpStream[];
}

export function readWire(pcap: Buffer): Wire {
  const frames = readPcap(pcap);
  return { frames, streams: tcpStreams(frames) };
}

const nameOf = (network: LabNetwork, address: string): string => network.names.get(address) ?? address;

/**
 * Every flow a capture holds, as `client→server:port`, one entry per kind. A frame that is not ARP
 * or TCP, or TCP that reaches no known service of a lab host, is listed as it is, so a test that
 * compares the list with the allowed flows sees it.
 */
export function flowsOf(wire: Wire, network: LabNetwork): Set<string> {
  const flows = new Set<string>();
  for (const frame of wire.frames) {
    if (frame.kind === 'arp') continue;
    if (frame.kind === 'other') {
      flows.add(`ethertype 0x${frame.etherType.toString(16)}`);
      continue;
    }
    const src = nameOf(network, frame.src);
    const dst = nameOf(network, frame.dst);
    if (frame.tcp === null) {
      flows.add(`${src}→${dst} IP protocol ${frame.protocol}`);
      continue;
    }
    const { srcPort, dstPort } = frame.tcp;
    if (network.services.get(frame.dst)?.includes(dstPort)) flows.add(`${src}→${dst}:${dstPort}`);
    else if (network.services.get(frame.src)?.includes(srcPort)) flows.add(`${dst}→${src}:${srcPort}`);
    else flows.add(`${src}:${srcPort}→${dst}:${dstPort} (no service)`);
  }
  return flows;
}

/** Frames of the capture between these two addresses, either way. */
export function framesBetween(wire: Wire, a: string, b: string): number {
  return wire.frames.filter((f) => f.kind === 'ipv4' && ((f.src === a && f.dst === b) || (f.src === b && f.dst === a))).length;
}

const occurrences = (bytes: Buffer, text: string): number => {
  let count = 0;
  for (let at = bytes.indexOf(text); at !== -1; at = bytes.indexOf(text, at + 1)) count++;
  return count;
};

/** Where a misdirected device's id went on the wire of the plane it was not at home in. */
export interface MisdirectedTrace {
  /** Its CONNECTs to this plane's broker: the packet types of each connection it opened there. */
  connections: number[][];
  /** This plane's broker asking the directory where the device lives (`GET …/directory/devices/:id`). */
  lookups: number;
  /** Every other stream that carries the id, named: what the test must find empty. */
  elsewhere: string[];
}

/**
 * Every TCP stream of `wire` that carries `deviceId`, sorted into what a misdirected device cannot
 * avoid and everything else. Unavoidable: its CONNECT to the wrong broker (the Client Identifier
 * and User Name are its device id, [MQTT-3.1.3-3], and come before the broker can say no), and the
 * broker's question to the directory and its answer, which hold the id and the home plane's
 * endpoints. A connection of the device that carries any packet after its CONNECT, or a request to
 * the directory other than a lookup of the id, counts as elsewhere.
 */
export function traceMisdirected(
  wire: Wire,
  deviceId: string,
  at: { plane: string; broker: number; directory: string; directoryPort: number },
): MisdirectedTrace {
  const trace: MisdirectedTrace = { connections: [], lookups: 0, elsewhere: [] };
  const lookup = `GET /api/v1/directory/devices/${deviceId} HTTP/1.1`;
  for (const stream of wire.streams) {
    if (!stream.bytes.includes(deviceId)) continue;
    const where = `${stream.src}:${stream.srcPort}→${stream.dst}:${stream.dstPort}`;
    if (stream.dst === at.plane && stream.dstPort === at.broker) {
      const types = mqttPackets(stream.bytes).map((p) => p.type);
      trace.connections.push(types);
      if (types.length !== 1 || types[0] !== PacketType.CONNECT) trace.elsewhere.push(`${where}: MQTT packets of types ${types.join(',')}`);
    } else if (stream.src === at.plane && stream.dst === at.directory && stream.dstPort === at.directoryPort) {
      const asked = occurrences(stream.bytes, lookup);
      trace.lookups += asked;
      if (asked !== occurrences(stream.bytes, deviceId)) trace.elsewhere.push(`${where}: the id outside a lookup request line`);
    } else if (!(stream.src === at.directory && stream.srcPort === at.directoryPort && stream.dst === at.plane)) {
      trace.elsewhere.push(where);
    }
  }
  return trace;
}
