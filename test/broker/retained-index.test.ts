import { afterEach, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { createRetainedIndex } from '../../broker/retained-index.ts';
import { startBroker, requireTcp } from '../../broker/broker.ts';
import { pino } from 'pino';
import mqtt from 'mqtt';

const packet = (topic: string, payload = 'x') => ({ topic, payload: Buffer.from(payload), qos: 1, retain: true });
const topicsOf = (index: ReturnType<typeof createRetainedIndex>, filter: string): string[] => [...index.matching(filter)].map((p) => p.topic).sort();

describe('retained index', () => {
  it('matches filters by topic level: exact, + one level, # this level and below [MQTT-4.7.1-2]', () => {
    const index = createRetainedIndex();
    for (const topic of [
      'coffee/v1/a/state',
      'coffee/v1/a/consent',
      'coffee/v1/b/state',
      'coffee/v1/a/cmd/reboot',
      'coffee/v1/a/cmd',
      'coffee/v1/a/cmd/x/y',
      'other',
    ])
      index.store(packet(topic));
    expect(topicsOf(index, 'coffee/v1/a/consent')).toEqual(['coffee/v1/a/consent']);
    expect(topicsOf(index, 'coffee/v1/+/state')).toEqual(['coffee/v1/a/state', 'coffee/v1/b/state']);
    expect(topicsOf(index, 'coffee/v1/a/cmd/#')).toEqual(['coffee/v1/a/cmd', 'coffee/v1/a/cmd/reboot', 'coffee/v1/a/cmd/x/y']);
    expect(topicsOf(index, 'coffee/v1/a/cmd/+')).toEqual(['coffee/v1/a/cmd/reboot']);
    expect(topicsOf(index, '#')).toHaveLength(7);
    expect(topicsOf(index, 'coffee/v1/c/#')).toEqual([]);
    expect(topicsOf(index, '+')).toEqual(['other']);
  });

  it('no wildcard in the first level matches a $ topic [MQTT-4.7.2-1], a literal one does', () => {
    const index = createRetainedIndex();
    index.store(packet('$SYS/broker/x'));
    index.store(packet('a/b'));
    expect(topicsOf(index, '#')).toEqual(['a/b']);
    expect(topicsOf(index, '+/broker/x')).toEqual([]);
    expect(topicsOf(index, '$SYS/#')).toEqual(['$SYS/broker/x']);
  });

  it('an empty payload removes the message and the levels left empty; a new one replaces the old', () => {
    const index = createRetainedIndex();
    index.store(packet('a/b/c', 'one'));
    index.store(packet('a/b/c', 'two'));
    expect(index.size).toBe(1);
    expect([...index.matching('a/b/c')].map((p) => p.payload.toString())).toEqual(['two']);
    index.store(packet('a/b', 'parent'));
    index.store({ topic: 'a/b/c', payload: Buffer.alloc(0) });
    index.store({ topic: 'never/there', payload: Buffer.alloc(0) });
    expect(index.size).toBe(1);
    expect(topicsOf(index, '#')).toEqual(['a/b']);
  });
});

describe('retained messages through the broker', () => {
  let broker: TcpBroker | null = null;
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker?.close();
    broker = null;
  });

  it('a subscriber gets exactly the retained messages its filter matches, and none that were cleared', async () => {
    broker = requireTcp(
      await startBroker({ host: '127.0.0.1', tcpPort: 0, wsPort: null, unsafePermissiveTestMode: true, logLevel: 'silent' }, pino({ level: 'silent' })),
    );
    const publisher = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'pub', reconnectPeriod: 0 });
    clients.push(publisher);
    for (const topic of ['t/1/state', 't/2/state', 't/1/consent', 't/3/state']) await publisher.publishAsync(topic, `v-${topic}`, { qos: 1, retain: true });
    await publisher.publishAsync('t/3/state', '', { qos: 1, retain: true });
    const subscriber = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'sub', reconnectPeriod: 0 });
    clients.push(subscriber);
    const received: string[] = [];
    subscriber.on('message', (topic, payload, p) => p.retain && received.push(`${topic}=${payload.toString()}`));
    await subscriber.subscribeAsync(['t/+/state', 't/1/#'], { qos: 1 });
    const deadline = Date.now() + 5_000;
    while (received.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // t/1/state matches both filters: delivered once per matching filter, as before the index.
    expect(received.sort()).toEqual(['t/1/consent=v-t/1/consent', 't/1/state=v-t/1/state', 't/1/state=v-t/1/state', 't/2/state=v-t/2/state']);
  });
});
