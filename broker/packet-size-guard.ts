/**
 * Follows MQTT packet boundaries across the raw bytes of one connection and reports the first packet
 * whose fixed header announces more than `maxPacketBytes` in total. It reads only the fixed headers
 * (1 type byte + 1-4 length bytes) and skips bodies arithmetically, so the cost is per packet, not
 * per byte, and it can stop a connection before the oversize body has been buffered.
 *
 * Returns a function to feed each chunk in order; it answers false once the limit is broken (or the
 * length field is malformed) and keeps answering false after that.
 */
export function createPacketSizeGuard(maxPacketBytes: number): (chunk: Uint8Array) => boolean {
  let phase: 'type' | 'length' | 'body' = 'type';
  let lengthBytes = 0;
  let remaining = 0;
  let multiplier = 1;
  let bodyLeft = 0;
  let broken = false;

  return function withinLimit(chunk) {
    if (broken) return false;
    let i = 0;
    while (i < chunk.length) {
      if (phase === 'body') {
        const skip = Math.min(bodyLeft, chunk.length - i);
        bodyLeft -= skip;
        i += skip;
        if (bodyLeft === 0) phase = 'type';
        continue;
      }
      const byte = chunk[i++] as number;
      if (phase === 'type') {
        phase = 'length';
        lengthBytes = 0;
        remaining = 0;
        multiplier = 1;
        continue;
      }
      remaining += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      lengthBytes++;
      if (byte & 0x80) {
        if (lengthBytes < 4) continue;
        broken = true;
        return false;
      }
      if (1 + lengthBytes + remaining > maxPacketBytes) {
        broken = true;
        return false;
      }
      bodyLeft = remaining;
      phase = bodyLeft > 0 ? 'body' : 'type';
    }
    return true;
  };
}
