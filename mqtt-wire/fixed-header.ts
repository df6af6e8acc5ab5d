/**
 * The one decoder of MQTT's variable-length integers: the Remaining Length of every fixed header
 * (3.1.1 §2.2.3) and, in MQTT 5.0, every Variable Byte Integer (v5 §1.5.5: Remaining Length,
 * Property Length, Subscription Identifier). Seven bits per byte, least significant first, the high
 * bit set while more follow, at most four bytes. Used by the frame reader, the property decoder and
 * the broker's packet-size guard.
 *
 * Not enforced: the minimal encoding v5 asks senders for [MQTT-1.5.5-1]; a longer encoding of a
 * small value is read as its value (a reader need not refuse it to stay safe, and the broker's
 * guard only measures).
 */

/** Fewer bytes than the integer needs are present yet. */
export const INCOMPLETE = -1;
/** A fourth byte with its continuation bit set: no such integer exists. */
export const MALFORMED = -2;

/**
 * Decodes the integer that starts at `offset` in `bytes[offset..end)`. Returns INCOMPLETE, MALFORMED
 * or the value and its encoded length packed into one number (`value * 4 + length - 1`, read with
 * vbiValue/vbiLength), so the hot path allocates nothing.
 */
export function readVariableByteInteger(bytes: Uint8Array, offset: number, end: number): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    if (offset + i >= end) return INCOMPLETE;
    const byte = bytes[offset + i]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return value * 4 + i;
    multiplier *= 128;
  }
  return MALFORMED;
}

export const vbiValue = (packed: number): number => Math.floor(packed / 4);
export const vbiLength = (packed: number): number => (packed % 4) + 1;

/**
 * The fixed header of the packet starting at `offset`: a type-and-flags byte, then the Remaining
 * Length. Returns INCOMPLETE, MALFORMED, or the packed Remaining Length (see readVariableByteInteger);
 * the header is `1 + vbiLength(result)` bytes long and the whole packet `1 + vbiLength + vbiValue`.
 */
export function readFixedHeader(bytes: Uint8Array, offset: number, end: number): number {
  return readVariableByteInteger(bytes, offset + 1, end);
}
