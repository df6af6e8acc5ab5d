import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { parseTopic } from '../../schema/topics.ts';

export interface ReceivedEvent {
  deviceId: string;
  seq: number;
  kind: string;
  payload: string;
}

export interface TestBroker {
  readonly broker: Aedes;
  readonly port: number;
  readonly url: string;
  /** Every event a device published to this broker instance, in arrival order (duplicates included). */
  readonly events: ReceivedEvent[];
  /** Every command result a device published on its `cmd-result/{name}` topic, parsed as JSON. */
  readonly results: Array<{ deviceId: string; name: string; body: unknown }>;
  /** Client ids that have subscribed to their command topics: only then can a command reach them. */
  readonly listening: Set<string>;
  /** How many times each client id has connected. */
  readonly connects: Map<string, number>;
  /** Publishes as the cloud would, e.g. a retained consent record or a command. */
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real aedes broker (no auth) on loopback: on an ephemeral port, or on a given one to play the same
 * broker coming back after a restart with its memory lost.
 */
export async function startTestBroker(port = 0): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const events: ReceivedEvent[] = [];
  const results: TestBroker['results'] = [];
  const listening = new Set<string>();
  const connects = new Map<string, number>();
  broker.on('client', (client) => connects.set(client.id, (connects.get(client.id) ?? 0) + 1));
  broker.on('subscribe', (subscriptions, client) => {
    if (client && subscriptions.some((s) => s.topic.includes('/cmd/'))) listening.add(client.id);
  });
  broker.on('publish', (packet, client) => {
    if (!client) return;
    const parsed = parseTopic(packet.topic);
    if (parsed?.type === 'command-result') results.push({ deviceId: parsed.deviceId, name: parsed.name, body: JSON.parse(packet.payload.toString()) });
    if (parsed?.type !== 'event') return;
    const payload = packet.payload.toString();
    // -1: no readable sequence number (a deliberately malformed payload still counts as received).
    let seq = -1;
    try {
      const parsed = (JSON.parse(payload) as { seq?: unknown }).seq;
      if (typeof parsed === 'number') seq = parsed;
    } catch {
      seq = -1;
    }
    events.push({ deviceId: parsed.deviceId, seq, kind: parsed.kind, payload });
  });
  const server: Server = createServer(broker.handle);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  return {
    broker,
    port: bound,
    url: `mqtt://127.0.0.1:${bound}`,
    events,
    results,
    listening,
    connects,
    publish: (topic, payload, retain = false) =>
      new Promise<void>((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false }, (error) => (error ? reject(error) : resolve())),
      ),
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
