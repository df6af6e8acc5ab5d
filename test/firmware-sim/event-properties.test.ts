import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { EVENT_USER_PROPERTIES } from '../../schema/events.ts';
import { topics } from '../../schema/topics.ts';
import { brokerFor, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { waitFor } from './aedes-server.ts';

/**
 * Events of an MQTT 5 machine carry the contract and consent version as user properties, payload
 * format indicator 1 and content type application/json, as an MQTT 5 subscriber (mqtt.js) sees them
 * through our broker; a 3.1.1 machine's events carry none. The envelope says the same thing.
 */
describe('MQTT 5 properties on events, through our broker', () => {
  const logger = pino({ level: 'silent' });
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  let fleet: Fleet;
  let watcher: mqtt.MqttClient;
  const seen: Array<{ deviceId: string; envelope: { v: number; consentVersion: number }; properties: mqtt.IPublishPacket['properties'] }> = [];

  afterAll(async () => {
    await fleet?.stop();
    await watcher?.endAsync(true);
    await broker?.close();
    await registry?.close();
  });

  it('are there on every v5 event and on no 3.1.1 event', async () => {
    registry = await startDeviceRegistry({ 'cm-ep-v5': { secret: 's', region: 'eu' }, 'cm-ep-v4': { secret: 's', region: 'eu' } });
    broker = await brokerFor(registry, logger);
    watcher = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'svc-ep-watch',
      username: INGEST.username,
      password: INGEST.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    watcher.on('message', (topic, payload, packet) => {
      seen.push({
        deviceId: topic.split('/')[2]!,
        envelope: JSON.parse(payload.toString()) as { v: number; consentVersion: number },
        properties: packet.properties,
      });
    });
    await watcher.subscribeAsync(topics.filters.allEvents, { qos: 1 });
    fleet = await startFleet(
      {
        brokerUrl: broker.mqttUrl,
        seed: 4,
        speed: 100_000,
        // Leaky firmware publishes without a consent record (consent version 0), so events flow at once.
        machines: [
          { deviceId: 'cm-ep-v5', secret: 's', region: 'eu', profile: 'leaky', usage: 'cafe', mqttVersion: 5 },
          { deviceId: 'cm-ep-v4', secret: 's', region: 'eu', profile: 'leaky', usage: 'cafe', mqttVersion: 4 },
        ],
      },
      logger,
    );
    await waitFor(() => ['cm-ep-v5', 'cm-ep-v4'].every((id) => seen.filter((s) => s.deviceId === id).length >= 5), 10_000, 'events of both machines');
    const v5 = seen.filter((s) => s.deviceId === 'cm-ep-v5');
    for (const { envelope, properties } of v5) {
      expect(properties).toMatchObject({
        payloadFormatIndicator: true,
        contentType: 'application/json',
        userProperties: {
          [EVENT_USER_PROPERTIES.contractVersion]: String(envelope.v),
          [EVENT_USER_PROPERTIES.consentVersion]: String(envelope.consentVersion),
        },
      });
    }
    for (const { properties } of seen.filter((s) => s.deviceId === 'cm-ep-v4')) expect(properties ?? {}).toEqual({});
  });
});
