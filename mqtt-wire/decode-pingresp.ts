import type { Decoded, Pingresp } from './packets.ts';

const PINGRESP: Pingresp = { cmd: 'pingresp' };

/** PINGRESP (3.1.1 §3.13, v5 §3.13): a fixed header and nothing else, Remaining Length 0. */
export function decodePingresp(start: number, end: number): Decoded<Pingresp> {
  return end === start ? PINGRESP : 'malformed PINGRESP';
}
