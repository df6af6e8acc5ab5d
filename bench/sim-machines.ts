/**
 * The bench's machine ids, all of one length (zero-padded): the two halves of the bench fleet
 * (topic aliases on, off) are twins, machine i of one half behaving as machine i of the other, and
 * equal ids lengths make their topics and payloads the same size too. Shared with the brokers that
 * seed a consent record for every machine.
 */
export const benchDeviceId = (prefix: string, index: number): string => `${prefix}-${String(index).padStart(6, '0')}`;
