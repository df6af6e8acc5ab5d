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
 * Returns a function to feed each chunk in order; it answers false once the limit is broken (or the
 * length field is malformed) and keeps answering false after that.
 */
export function createPacketSizeGuard(maxPacketBytes: number): (chunk: Uint8Array) => boolean {
  const header = new Uint8Array(MAX_HEADER_BYTES);
  let headerBytes = 0;
  let bodyLeft = 0;
  let broken = false;

  /** Checks one complete fixed header; false when the packet is too large. */
  const admit = (packed: number): boolean => {
    if (1 + vbiLength(packed) + vbiValue(packed) > maxPacketBytes) return false;
    bodyLeft = vbiValue(packed);
    return true;
  };

  const refuse = (): false => {
    broken = true;
    return false;
  };

  return function withinLimit(chunk) {
    if (broken) return false;
    let i = 0;
    while (i < chunk.length) {
      if (bodyLeft > 0) {
        const skip = Math.min(bodyLeft, chunk.length - i);
        bodyLeft -= skip;
        i += skip;
        continue;
      }
      if (headerBytes === 0) {
        // The common case: the whole header is in this chunk.
        const packed = readFixedHeader(chunk, i, chunk.length);
        if (packed >= 0) {
          if (!admit(packed)) return refuse();
          i += 1 + vbiLength(packed);
          continue;
        }
        if (packed === MALFORMED) return refuse();
      }
      // A header cut by the chunk's end: gather it byte by byte.
      header[headerBytes++] = chunk[i++]!;
      const packed = readFixedHeader(header, 0, headerBytes);
      if (packed === INCOMPLETE) continue;
      headerBytes = 0;
      if (packed === MALFORMED || !admit(packed)) return refuse();
    }
    return true;
  };
}
