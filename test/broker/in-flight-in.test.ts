import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, rawClient, startDeviceRegistry, type DeviceRegistry, type RawClient } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const TOPIC = topics.event(ALICE.id, 'brew');
const PAYLOAD_BYTES = 600;
/** Each held message counts its payload and its topic. */
const HELD_BYTES = PAYLOAD_BYTES + Buffer.byteLength(TOPIC);
const CAP = 2_048;

/** QoS 2 publishes held without PUBREL, capped in bytes per client: raw MQTT clients over real sockets. */
describe('broker: QoS 2 bytes awaiting PUBREL per client', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const raws: RawClient[] = [];

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' } });
    // The count cap is far away: only the byte cap can cut these clients off.
    broker = await brokerFor(registry, logs.logger, { maxPacketBytes: 1_024, limits: { maxInFlightIn: 1_000, maxInFlightInBytes: CAP }, metricsPort: 0 });
  });
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const connect = async (): Promise<RawClient> => {
    const raw = rawClient(broker.tcpPort, { clientId: ALICE.id, username: ALICE.id, password: ALICE.secret });
    raws.push(raw);
    expect((await raw.connack).returnCode).toBe(0);
    return raw;
  };
  const publish = (raw: RawClient, messageId: number, marker = 'x'): void =>
    raw.send({ cmd: 'publish', topic: TOPIC, payload: Buffer.alloc(PAYLOAD_BYTES, marker), qos: 2, messageId, retain: false, dup: false });
  const pubrecs = (raw: RawClient): number[] => raw.packets.filter((p) => p.cmd === 'pubrec').map((p) => (p as { messageId: number }).messageId);

  it('cuts off a client that never sends PUBREL once its held bytes would pass the cap, and counts and logs it without payload', async () => {
    const raw = await connect();
    const fits = Math.floor(CAP / HELD_BYTES);
    for (let id = 1; id <= fits; id++) publish(raw, id, 'q');
    await waitUntil('a PUBREC for each one that fits', () => pubrecs(raw).length === fits, 5_000);
    // A retransmission of one already held adds nothing.
    raw.send({ cmd: 'publish', topic: TOPIC, payload: Buffer.alloc(PAYLOAD_BYTES, 'q'), qos: 2, messageId: 1, retain: false, dup: true });
    await waitUntil('the duplicate answered', () => pubrecs(raw).length === fits + 1, 5_000);
    publish(raw, fits + 1, 'q');
    await raw.closed;
    expect(pubrecs(raw)).not.toContain(fits + 1);
    expect(broker.stats().limitDisconnects.max_in_flight_in_bytes).toBe(1);
    expect(broker.stats().limitDisconnects.max_in_flight_in).toBe(0);
    const line = logs.lines.find((l) => l.includes('"reason":"max_in_flight_in_bytes"'));
    expect(line).toContain(ALICE.id);
    expect(logs.lines.join('\n')).not.toContain('q'.repeat(50));
    expect(await (await fetch(broker.metricsUrl!)).text()).toMatch(/^brewtel_broker_limit_disconnects_total\{reason="max_in_flight_in_bytes"\} 1$/m);
  });

  it('keeps a client that releases its messages, however many bytes it sends in all', async () => {
    const raw = await connect();
    for (let id = 1; id <= 10; id++) {
      publish(raw, id);
      await waitUntil(`PUBREC ${id}`, () => pubrecs(raw).includes(id), 5_000);
      raw.send({ cmd: 'pubrel', messageId: id });
      await waitUntil(`PUBCOMP ${id}`, () => raw.packets.some((p) => p.cmd === 'pubcomp' && (p as { messageId: number }).messageId === id), 5_000);
    }
    expect(raw.socket.destroyed).toBe(false);
    expect(broker.stats().limitDisconnects.max_in_flight_in_bytes).toBe(1);
  });

  it('refuses a byte cap below the packet size cap', async () => {
    await expect(brokerFor(registry, logs.logger, { maxPacketBytes: 4_096, limits: { maxInFlightInBytes: 2_048 } })).rejects.toThrow(
      /maxPacketBytes|max-packet-bytes/,
    );
  });
});
