/**
 * Reads what tcpdump wrote (`-w`, the classic pcap format, Ethernet link type, as on a veth) into
 * frames and TCP streams, so a test can say which host talked to which, on which port, and what
 * each side sent. Anything the reader does not understand is kept as such (`kind: 'other'`), never
 * skipped: a test decides what an unknown frame means.
 */
export type Frame =
  | { kind: 'arp' }
  | { kind: 'ipv4'; src: string; dst: string; protocol: number; tcp: TcpSegment | null }
  | { kind: 'other'; etherType: number };

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  syn: boolean;
  payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const PROTOCOL_TCP = 6;
/** More than a test's connection carries; an offset beyond it is a sequence number from before the stream. */
const MAX_STREAM_BYTES = 1 << 30;

/** Every frame of a pcap file, in capture order. */
export function readPcap(file: Buffer): Frame[] {
  if (file.length < 24) throw new Error('not a pcap file: shorter than its header');
  const magic = file.readUInt32LE(0);
  // Microsecond and nanosecond timestamps differ only in magic; either byte order.
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const big = file.readUInt32BE(0) === 0xa1b2c3d4 || file.readUInt32BE(0) === 0xa1b23c4d;
  if (!little && !big) throw new Error(`not a classic pcap file (magic ${magic.toString(16)}; pcapng is not read here)`);
  const u32 = (offset: number): number => (little ? file.readUInt32LE(offset) : file.readUInt32BE(offset));
  const linkType = u32(20);
  if (linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${linkType}: only Ethernet (1) is read here`);
  const frames: Frame[] = [];
  for (let offset = 24; offset + 16 <= file.length; ) {
    const captured = u32(offset + 8);
    const start = offset + 16;
    if (start + captured > file.length) break; // the last record, cut off by a stop mid-write
    frames.push(ethernet(file.subarray(start, start + captured)));
    offset = start + captured;
  }
  return frames;
}

function ethernet(frame: Buffer): Frame {
  if (frame.length < 14) return { kind: 'other', etherType: -1 };
  const etherType = frame.readUInt16BE(12);
  if (etherType === ETHERTYPE_ARP) return { kind: 'arp' };
  if (etherType !== ETHERTYPE_IPV4) return { kind: 'other', etherType };
  const ip = frame.subarray(14);
  const headerLength = (ip[0]! & 0x0f) * 4;
  const totalLength = Math.min(ip.readUInt16BE(2), ip.length);
  const address = (at: number): string => [...ip.subarray(at, at + 4)].join('.');
  const protocol = ip[9]!;
  const base = { kind: 'ipv4' as const, src: address(12), dst: address(16), protocol };
  if (protocol !== PROTOCOL_TCP) return { ...base, tcp: null };
  const tcp = ip.subarray(headerLength, totalLength);
  const dataOffset = (tcp[12]! >> 4) * 4;
  return {
    ...base,
    tcp: {
      srcPort: tcp.readUInt16BE(0),
      dstPort: tcp.readUInt16BE(2),
      seq: tcp.readUInt32BE(4),
      syn: (tcp[13]! & 0x02) !== 0,
      payload: tcp.subarray(dataOffset),
    },
  };
}

/** What one side of one TCP connection sent, in order, as the receiver read it. */
export interface TcpStream {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  bytes: Buffer;
}

/**
 * The TCP streams of a capture, one per direction of each connection. Segments are placed by
 * sequence number, so a retransmission overwrites its own bytes instead of being read twice; a SYN
 * on a four-tuple already seen starts a new stream (the tuple was reused).
 */
export function tcpStreams(frames: readonly Frame[]): TcpStream[] {
  const open = new Map<string, { stream: TcpStream; isn: number; parts: Array<{ at: number; payload: Buffer }> }>();
  const done: Array<{ stream: TcpStream; parts: Array<{ at: number; payload: Buffer }> }> = [];
  for (const frame of frames) {
    if (frame.kind !== 'ipv4' || frame.tcp === null) continue;
    const { srcPort, dstPort, seq, syn, payload } = frame.tcp;
    const key = `${frame.src}:${srcPort}>${frame.dst}:${dstPort}`;
    let entry = open.get(key);
    if (entry === undefined || syn) {
      if (entry) done.push(entry);
      // A SYN takes one sequence number; a stream whose SYN was not seen starts at its first segment.
      entry = { stream: { src: frame.src, srcPort, dst: frame.dst, dstPort, bytes: Buffer.alloc(0) }, isn: syn ? seq + 1 : seq, parts: [] };
      open.set(key, entry);
    }
    const at = (seq - entry.isn) >>> 0;
    // Below the stream's start (a keepalive probe's one old byte) wraps to a huge offset: not data.
    if (payload.length > 0 && at < MAX_STREAM_BYTES) entry.parts.push({ at, payload });
  }
  done.push(...open.values());
  return done.map(({ stream, parts }) => {
    const length = parts.reduce((max, part) => Math.max(max, part.at + part.payload.length), 0);
    const bytes = Buffer.alloc(length);
    for (const part of parts) part.payload.copy(bytes, part.at);
    return { ...stream, bytes };
  });
}
