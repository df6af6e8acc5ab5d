import { INCOMPLETE, MALFORMED, readFixedHeader, vbiLength, vbiValue } from '../mqtt-wire/fixed-header.ts';

/** A fixed header is at most five bytes: the type byte and four of Remaining Length. */
const MAX_HEADER_BYTES = 5;

/**
 * Follows MQTT packet boundaries across the raw bytes of one connection and reports the first packet
 * whose fixed header announces more than `maxPacketBytes` in total. It reads only the fixed headers
 * (with mqtt-wire's one Remaining Length decoder) and skips bodies arithmetically, so the cost is per
 * packet, not per byte, and it can stop a connection before the oversize body has been buffered. A
 * header split across chunks is gathered in a five-byte buffer.
 *
 * One per connection, for as long as it lasts: a plain object with its methods on the prototype (no
 * closures of its own), and the five-byte buffer made only once a header is actually split.
 */
export class PacketSizeGuard {
  private header: Uint8Array | null = null;
  private headerBytes = 0;
  private bodyLeft = 0;
  private broken = false;

  constructor(private readonly maxPacketBytes: number) {}

  /** Feeds the next chunk, in order; false once the limit is broken (or a length field is malformed), and from then on. */
  withinLimit(chunk: Uint8Array): boolean {
    if (this.broken) return false;
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const skip = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= skip;
        i += skip;
        continue;
      }
      if (this.headerBytes === 0) {
        // The common case: the whole header is in this chunk.
        const packed = readFixedHeader(chunk, i, chunk.length);
        if (packed >= 0) {
          if (!this.admit(packed)) return this.refuse();
          i += 1 + vbiLength(packed);
          continue;
        }
        if (packed === MALFORMED) return this.refuse();
      }
      // A header cut by the chunk's end: gather it byte by byte.
      this.header ??= new Uint8Array(MAX_HEADER_BYTES);
      this.header[this.headerBytes++] = chunk[i++]!;
      const packed = readFixedHeader(this.header, 0, this.headerBytes);
      if (packed === INCOMPLETE) continue;
      this.headerBytes = 0;
      if (packed === MALFORMED || !this.admit(packed)) return this.refuse();
    }
    return true;
  }

  /** Checks one complete fixed header; false when the packet is too large. */
  private admit(packed: number): boolean {
    if (1 + vbiLength(packed) + vbiValue(packed) > this.maxPacketBytes) return false;
    this.bodyLeft = vbiValue(packed);
    return true;
  }

  private refuse(): false {
    this.broken = true;
    return false;
  }
}

/** The guard as a function to feed each chunk to (see PacketSizeGuard.withinLimit). */
export function createPacketSizeGuard(maxPacketBytes: number): (chunk: Uint8Array) => boolean {
  const guard = new PacketSizeGuard(maxPacketBytes);
  return (chunk) => guard.withinLimit(chunk);
}
