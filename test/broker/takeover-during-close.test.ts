import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { closeBeforeTakeover } from '../../broker/close-before-takeover.ts';
import { waitUntil } from '../support/wait.ts';

interface Lab {
  broker: Aedes;
  url: string;
  /** While set, every unsubscribe of a closing client answers 300 ms late: a slow close. */
  slowClose: { on: boolean };
  /** Runs, once, when the next login restores its session (after its authentication). */
  duringRestore: { run: (() => Promise<void>) | null };
  close(): Promise<void>;
}

/** A real aedes broker on loopback whose clients get the guard (or not, to show the race it closes). */
async function startLab(guarded: boolean): Promise<Lab> {
  const broker = await Aedes.createBroker();
  const slowClose = { on: false };
  const unsubscribe = broker.unsubscribe.bind(broker);
  Reflect.set(broker, 'unsubscribe', (topic: string, func: unknown, done: () => void) =>
    unsubscribe(topic, func as never, () => (slowClose.on ? setTimeout(done, 300) : done())),
  );
  const duringRestore: Lab['duringRestore'] = { run: null };
  const persistence = Reflect.get(broker, 'persistence') as { subscriptionsByClient(client: { id: string }): Promise<unknown> };
  const subscriptionsByClient = persistence.subscriptionsByClient.bind(persistence);
  Reflect.set(persistence, 'subscriptionsByClient', async (client: { id: string }) => {
    const run = duringRestore.run;
    duringRestore.run = null;
    await run?.();
    return subscriptionsByClient(client);
  });
  if (guarded) closeBeforeTakeover(broker);
  const server: Server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    broker,
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    slowClose,
    duringRestore,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A device back from a blip logs in again while the broker is still closing its old connection
 * (the close waits on the store, as it does under load or with Redis). [MQTT-3.1.4-2]: the old
 * connection is closed, its will published (3.1.1) or left to its delay (v5), and only then is the
 * new one the session's connection.
 */
describe.each([{ guarded: true }, { guarded: false }])('a login taking over a session still closing (guard: $guarded)', ({ guarded }) => {
  let lab: Lab | undefined;
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
    await lab?.close();
    lab = undefined;
  });

  type When = 'before the login' | 'while the login restores its session';
  const registered = (broker: Aedes, id: string): Client | undefined => (Reflect.get(broker, 'clients') as Record<string, Client | undefined>)[id];
  const run = async (protocolVersion: 4 | 5, when: When): Promise<{ states: string[]; registered: boolean; count: number }> => {
    lab = await startLab(guarded);
    const { broker } = lab;
    const id = `cm-takeover-${protocolVersion}`;
    const states: string[] = [];
    const watcher = await mqtt.connectAsync(lab.url, { clientId: 'watcher', protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(watcher);
    watcher.on('message', (_topic, payload) => states.push(payload.toString()));
    await watcher.subscribeAsync('state/#', { qos: 1 });
    const will = {
      topic: `state/${id}`,
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
      ...(protocolVersion === 5 ? { properties: { willDelayInterval: 1 } } : {}),
    };
    const options = {
      clientId: id,
      protocolVersion,
      clean: false,
      reconnectPeriod: 0,
      will,
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
    };
    const old = await mqtt.connectAsync(lab.url, options);
    await old.subscribeAsync(`cmd/${id}`, { qos: 1 });
    await old.publishAsync(`state/${id}`, 'online', { qos: 1, retain: true });
    await waitUntil('the first online', () => states.length === 1, 5_000);

    const dropOld = async (): Promise<void> => {
      lab!.slowClose.on = true;
      old.stream.destroy();
      await waitUntil('the broker closing the old connection', () => registered(broker, id)?.closed === true, 5_000);
    };
    if (when === 'before the login') await dropOld();
    else lab.duringRestore.run = dropOld;
    const replacement = await mqtt.connectAsync(lab.url, options);
    clients.push(replacement);
    await replacement.publishAsync(`state/${id}`, 'online', { qos: 1, retain: true });
    // Past the slow close and the v5 will delay.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return { states, registered: registered(broker, id)?.closed === false, count: broker.connectedClients };
  };
  const check = (seen: object, expected: object): void => {
    if (guarded) expect(seen).toEqual(expected);
    else expect(seen).not.toEqual(expected);
  };

  it("MQTT 3.1.1, closing before the login: the old connection's will goes out before the new one's first message, and the new one stays registered", async () => {
    check(await run(4, 'before the login'), { states: ['online', 'offline', 'online'], registered: true, count: 2 });
  });

  it('MQTT 5, closing before the login: a login back within the will delay cancels the will, and the new connection stays registered', async () => {
    check(await run(5, 'before the login'), { states: ['online', 'online'], registered: true, count: 2 });
  });

  // CONNACK goes out in the turn of registration, so the order of the will and the new connection's
  // first message is not kept here; the registration and the v5 delay are.
  it('MQTT 3.1.1, closing while the login restores its session: the will goes out, and the new connection stays registered', async () => {
    const { states, registered, count } = await run(4, 'while the login restores its session');
    check({ offline: states.filter((s) => s === 'offline').length, registered, count }, { offline: 1, registered: true, count: 2 });
  });

  it('MQTT 5, closing while the login restores its session: no will, and the new connection stays registered', async () => {
    check(await run(5, 'while the login restores its session'), { states: ['online', 'online'], registered: true, count: 2 });
  });
});
