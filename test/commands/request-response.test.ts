import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';
import { topics } from '../../schema/topics.ts';
import { CommandResults } from '../../server/commands/command-results.ts';
import { CommandSender } from '../../server/commands/command-sender.ts';
import { subscribeToResults } from '../../server/commands/result-subscription.ts';
import { commandsConfigSchema, type CommandsConfig } from '../../server/config.ts';
import { openPublishConnection, type PublishConnection } from '../../server/ingest/publish-connection.ts';
import { brokerFor, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { waitFor } from '../firmware-sim/aedes-server.ts';

const logger = pino({ level: 'silent' });
const RECIPE = { recipe: 'espresso', doseG: 9 };

/**
 * Commands as MQTT 5 request/response through our broker (auth, ACL, limits) on port 0: the server's
 * outbound connection and command sender, simulated machines on MQTT 5 and 3.1.1, and an independent
 * mqtt.js v5 client watching the answers with the ingest account.
 */
describe('commands with a response topic, correlation data and a message expiry', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  let outbound: PublishConnection;
  let results: CommandResults;
  let watcher: mqtt.MqttClient;
  const answers: Array<{ topic: string; correlationData?: string; contentType?: string }> = [];
  const devices = {
    'cm-rr-v5': { secret: 's5', region: 'eu' },
    'cm-rr-v4': { secret: 's4', region: 'eu' },
    'cm-rr-away5': { secret: 'a5', region: 'eu' },
    'cm-rr-away4': { secret: 'a4', region: 'eu' },
  };

  const sender = (config: Partial<CommandsConfig> = {}): CommandSender =>
    new CommandSender({ connection: () => outbound, results, config: commandsConfigSchema.parse(config), logger });

  beforeAll(async () => {
    registry = await startDeviceRegistry(devices);
    broker = await brokerFor(registry, logger);
    outbound = openPublishConnection(
      {
        url: broker.mqttUrl,
        username: INGEST.username,
        password: INGEST.password,
        clientId: 'svc-rr',
        protocolVersion: 5,
        keepaliveSeconds: 30,
        reconnectInitialMs: 50,
        reconnectMaxMs: 200,
        maxInFlight: 100,
      },
      logger,
    );
    results = new CommandResults(logger);
    let subscribed = false;
    outbound.subscribe(topics.filters.allCommandResults, () => (subscribed = true));
    subscribeToResults(outbound, results, logger);
    watcher = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'svc-rr-watch',
      username: INGEST.username,
      password: INGEST.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    watcher.on('message', (topic, _payload, packet) => {
      const p = packet.properties;
      answers.push({ topic, correlationData: p?.correlationData?.toString('utf8'), contentType: p?.contentType });
    });
    await watcher.subscribeAsync(topics.filters.allCommandResults, { qos: 1 });
    await waitFor(() => subscribed, 5_000, 'the outbound connection subscribed');
  });
  afterAll(async () => {
    await watcher?.endAsync(true);
    await outbound?.close();
    await broker?.close();
    await registry?.close();
  });

  describe('a mixed fleet', () => {
    let fleet: Fleet;
    beforeAll(async () => {
      fleet = await startFleet(
        {
          brokerUrl: broker.mqttUrl,
          seed: 9,
          speed: 60,
          machines: [
            { deviceId: 'cm-rr-v5', secret: 's5', region: 'eu', mqttVersion: 5 },
            { deviceId: 'cm-rr-v4', secret: 's4', region: 'eu', mqttVersion: 4 },
          ],
        },
        logger,
      );
    });
    afterAll(async () => {
      await fleet?.stop();
    });

    it('a v5 machine answers on the response topic with the correlation data; a 3.1.1 machine on cmd-result/{name}', async () => {
      const send = sender();
      // The machines subscribe right after connecting; a command before that would find nobody.
      await waitFor(() => fleet.stats().connected === 2, 5_000, 'both machines connected');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const v5 = await send.send('cm-rr-v5', 'set-recipe', RECIPE, 5_000);
      const v4 = await send.send('cm-rr-v4', 'set-recipe', RECIPE, 5_000);
      expect(v5).toMatchObject({ status: 'answered', result: { status: 'ok', name: 'set-recipe' } });
      expect(v4).toMatchObject({ status: 'answered', result: { status: 'ok', name: 'set-recipe' } });
      const commandId = (outcome: typeof v5): string => (outcome.status === 'answered' ? outcome.result.commandId : '');
      await waitFor(() => answers.length >= 2, 5_000, 'the watcher to see both answers');
      expect(answers.find((a) => a.topic === topics.commandResult('cm-rr-v5', 'set-recipe'))).toEqual({
        topic: topics.commandResult('cm-rr-v5', 'set-recipe'),
        correlationData: commandId(v5),
        contentType: 'application/json',
      });
      expect(answers.find((a) => a.topic === topics.commandResult('cm-rr-v4', 'set-recipe'))).toEqual({
        topic: topics.commandResult('cm-rr-v4', 'set-recipe'),
        correlationData: undefined,
        contentType: undefined,
      });
      expect(results.counts().refused).toEqual({ result_invalid: 0, result_mismatch: 0, result_unexpected: 0 });
    });
  });

  describe.each([5, 4] as const)('a protocol level %i machine away while commands are sent', (mqttVersion) => {
    let connection: DeviceConnection | undefined;
    afterEach(async () => {
      await connection?.stop(500);
    });

    it('gets the command that has not expired, and never the one that has', async () => {
      const deviceId = mqttVersion === 5 ? 'cm-rr-away5' : 'cm-rr-away4';
      const received: string[] = [];
      const counters = new FleetCounters(1);
      connection = new DeviceConnection({
        brokerUrl: broker.mqttUrl,
        mqttVersion,
        deviceId,
        secret: devices[deviceId].secret,
        counters,
        logger,
        onConsent: () => {},
        onCommand: (name) => void received.push(name),
        offlineBufferSize: 10,
      });
      expect(await connection.firstAttempt()).toBe(true);
      // Subscribed (session kept by the broker), then away for 2.5 s.
      await new Promise((resolve) => setTimeout(resolve, 200));
      connection.restart(2_500);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // set-recipe lives 1 s, wipe-local-data never expires (the default for it).
      const send = sender({ expirySeconds: 1 });
      await Promise.all([send.send(deviceId, 'set-recipe', RECIPE, 300), send.send(deviceId, 'wipe-local-data', {}, 300)]);
      await waitFor(() => received.length >= 1, 10_000, 'the queued command after the reconnect');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(received).toEqual(['wipe-local-data']);
    });
  });
});
