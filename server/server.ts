import pino, { type Logger } from 'pino';
import { parseTopic } from '../schema/topics.ts';
import { CommandResults } from './commands/command-results.ts';
import { CommandSender } from './commands/command-sender.ts';
import { subscribeToResults } from './commands/result-subscription.ts';
import { mqttConfigSchema, type MqttConfigInput, type ServerConfig } from './config.ts';
import { ConsentService } from './consent/consent-service.ts';
import { clearRetainedMessages, mqttConsentPublisher, type ConsentPublisher } from './consent/publisher.ts';
import { republishConsents } from './consent/republish.ts';
import { SecretHasher } from './devices/credentials.ts';
import { DirectoryCache } from './devices/directory-cache.ts';
import { deviceSecretKeyFile, loadDeviceSecretKey } from './devices/secret-key.ts';
import { publishRevocation } from './devices/revocation-notice.ts';
import { LiveFeed } from './dashboard/live-feed.ts';
import { buildApp } from './http/app.ts';
import type { FleetControl } from './http/app-deps.ts';
import { grantsOf } from './http/auth.ts';
import { DeviceStates } from './ingest/device-states.ts';
import { createIngest, type Ingest } from './ingest/ingest.ts';
import { createMqttSource, type MqttSource } from './ingest/mqtt-source.ts';
import { openPublishConnection, type PublishConnection } from './ingest/publish-connection.ts';
import { IngestStats, type ServerStats } from './ingest/stats.ts';
import { LOG_REDACTION } from './log-redaction.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { createMosquittoSync, type MosquittoSync } from './mosquitto/mosquitto-sync.ts';
import { PortInUseError } from './port-in-use-error.ts';
import { AuditLogs, auditConsent } from './privacy/audit-logs.ts';
import { createPrivacy } from './privacy/create-privacy.ts';
import type { PrivacyDeps } from './privacy/privacy-deps.ts';
import { sealLegacyOwners } from './privacy/owners.ts';
import { watchPeerChanges } from './privacy/peer-changes.ts';
import { startRetentionSweeper } from './privacy/retention-sweeper.ts';
import { openStores } from './store/open-stores.ts';
import type { Stores } from './store/types.ts';
import { forgetAtGlobalDirectory } from './privacy/global-directory-removal.ts';
import { startComponents, type Component } from './components.ts';

export type { ServerStats } from './ingest/stats.ts';

export interface RunningServer {
  httpUrl: string;
  httpPort: number;
  /**
   * Connects ingest to a broker, for when the broker's address is known only after the HTTP side is
   * up (the broker asks this server about device secrets). Not needed when config.mqtt is set.
   */
  attachIngest(mqtt: MqttConfigInput): void;
  /** Resolves once ingest is attached and its subscriptions are granted. */
  whenIngestReady(): Promise<void>;
  /**
   * The MQTT address devices use, for the dashboard's demo command, once the broker listens (it starts
   * after this server when its port is picked at random); until then config.dashboard.mqttUrl.
   */
  advertiseMqtt(url: string): void;
  /** The simulated fleet of this process, for the fleet control API (/api/v1/control); null: none. */
  controlFleet(control: FleetControl | null): void;
  stats(): ServerStats;
  /**
   * The stores this server opened, for reading what was really committed (the test harness's
   * storedEvents and waitForStored); the server owns them and close() closes them.
   */
  readonly stores: Stores;
  close(): Promise<void>;
}

function isAddressInUse(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EADDRINUSE';
}

/** The MQTT side of ingest: the session events arrive on and the connection consent and commands leave by. */
interface MqttSide {
  source: MqttSource;
  outbound: PublishConnection;
}

/**
 * Starts its components in dependency order and stops them in reverse (server/components.ts):
 * stores (migrated) -> Mosquitto's files (when config.mosquitto is set) -> privacy (owner keys) -> audit -> HTTP listening -> ingest (pipeline, then its
 * MQTT session: now when config.mqtt is set, else on attachIngest) -> retention sweeper -> peer
 * watch. Stopping ingest lets in-flight batches commit and their PUBACKs leave before its MQTT
 * session closes. The broker may not be up yet; ingest keeps reconnecting, and whenIngestReady()
 * says when it is subscribed. Rejects with PortInUseError when the HTTP port is taken, with
 * everything it had opened closed again.
 */
export async function startServer(config: ServerConfig, logger: Logger = pino({ level: config.logLevel, redact: LOG_REDACTION })): Promise<RunningServer> {
  // Redacted here whatever logger the caller passed: this line holds every token and password.
  logger.child({}, { redact: LOG_REDACTION }).debug({ config }, 'server configuration');
  const metrics = createMetrics();
  const stats = new IngestStats(config.regions, metrics);
  const deviceStates = new DeviceStates();
  const ingestLogger = logger.child({ component: 'ingest' });
  const privacyLogger = logger.child({ component: 'privacy' });
  const commandsLogger = logger.child({ component: 'commands' });
  const advertised = { mqttUrl: config.dashboard.mqttUrl ?? null };

  let mqtt: MqttSide | null = null;
  let fleetControl: FleetControl | null = null;
  let markAttached: (attached: MqttSource) => void = () => undefined;
  const attached = new Promise<MqttSource>((resolve) => {
    markAttached = resolve;
  });
  const outbound = (): PublishConnection | null => mqtt?.outbound ?? null;
  const consentPublisher: ConsentPublisher = {
    publish: (record) => {
      const connection = outbound();
      return connection ? mqttConsentPublisher(connection).publish(record) : Promise.reject(new Error('ingest is not attached to a broker yet'));
    },
  };
  const commandResults = new CommandResults(commandsLogger);
  const commands = new CommandSender({ connection: outbound, results: commandResults, config: config.commands, logger: commandsLogger });

  // Set by their components' start, in list order; a component reads only those listed before it.
  let stores: Stores;
  let directory: DirectoryCache;
  let liveFeed: LiveFeed;
  let consent: ConsentService;
  let audit: AuditLogs;
  let privacy: PrivacyDeps;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let ingest: Ingest | undefined;
  let deviceSecrets: SecretHasher;
  let mosquitto: MosquittoSync | null = null;

  const components: Component[] = [
    {
      name: 'stores',
      async start() {
        stores = await openStores(
          { regions: config.regions, dataDir: config.dataDir, stores: config.stores, ...(config.directoryUrl ? { directoryUrl: config.directoryUrl } : {}) },
          logger,
        );
        directory = new DirectoryCache(stores.directory);
        liveFeed = new LiveFeed(async (deviceId) => (await directory.lookup(deviceId))?.region ?? null, logger.child({ component: 'dashboard' }));
        deviceSecrets = new SecretHasher(loadDeviceSecretKey(deviceSecretKeyFile(config)));
        return () => stores.close();
      },
    },
    {
      // Before HTTP, so the first provisioning already reaches Mosquitto's password file.
      name: 'mosquitto',
      async start() {
        if (config.mosquitto === null) return;
        const sync = createMosquittoSync({
          config: config.mosquitto,
          services: [...(config.mqtt ? [{ username: config.mqtt.username, password: config.mqtt.password }] : []), ...config.mosquitto.serviceAccounts],
          shareGroup: config.mqtt?.shareGroup,
          listDevices: () => stores.directory.list(),
          canLogIn: (entry) => deviceSecrets.canVerify(entry.secretHash),
          metrics,
          logger: logger.child({ component: 'mosquitto' }),
        });
        await sync.reconcile();
        mosquitto = sync;
        return () => sync.settle();
      },
    },
    {
      name: 'audit',
      start() {
        audit = AuditLogs.open(config, stores, logger);
        consent = new ConsentService(
          stores.regions,
          consentPublisher,
          config.consentPublishTimeoutMs,
          logger.child({ component: 'consent' }),
          auditConsent(audit),
        );
        // Appends already queued are written before the stores close.
        return () => audit.settle();
      },
    },
    {
      name: 'privacy',
      async start() {
        privacy = createPrivacy(config, stores, directory, consent, audit, erasureAtTheEdges(config, commands, outbound, mosquitto, metrics, privacyLogger));
        try {
          const sealed = await sealLegacyOwners(privacy);
          if (sealed > 0) privacyLogger.info({ owners: sealed }, 'sealed owner rows written before owner data was encrypted');
        } catch (err) {
          // Reads still open such rows as they are; the next start tries again.
          privacyLogger.warn({ err }, 'could not seal owner rows from before owner data was encrypted');
        }
        return () => privacy.ownerKeys.close();
      },
    },
    {
      name: 'http',
      async start() {
        app = await buildApp(
          {
            config,
            advertised,
            stores,
            directory,
            deviceSecrets,
            ...(mosquitto ? { brokerCredentials: mosquitto } : {}),
            consent,
            metrics,
            deviceStates,
            grants: grantsOf(config),
            privacy,
            liveFeed,
            commands,
            fleetControl: () => fleetControl,
            mqttConnected: () => mqtt?.source.connected() ?? false,
            storeWritable: (region) => ingest?.storeWritable(region) ?? true,
          },
          logger.child({ component: 'http' }),
        );
        try {
          await app.listen({ host: config.http.host, port: config.http.port });
        } catch (err) {
          await app.close();
          app = undefined;
          if (isAddressInUse(err)) throw new PortInUseError(config.http.port, config.http.host, { cause: err });
          throw err;
        }
        const listening = app;
        return () => listening.close();
      },
    },
    {
      name: 'ingest',
      start() {
        const running = createIngest({
          config: config.ingest,
          stores,
          directory,
          consent,
          stats,
          metrics,
          logger: ingestLogger,
          redeliver: () => mqtt?.source.reconnect(),
          tombstones: privacy.tombstones,
          committed: liveFeed,
        });
        ingest = running;
        return async () => {
          await running.close();
          commandResults.close();
          await mqtt?.source.close();
          await mqtt?.outbound.close();
        };
      },
    },
    {
      name: 'retention',
      start() {
        const sweeper = startRetentionSweeper(privacy, logger.child({ component: 'retention' }));
        return () => sweeper.stop();
      },
    },
    {
      name: 'peer-changes',
      start() {
        const peers = watchPeerChanges(
          { regions: stores.regions, consent, tombstones: privacy.tombstones, directory },
          { intervalMs: config.privacy.peerRefreshMs, clockSkewMs: 5_000 },
          privacyLogger,
        );
        return () => peers.stop();
      },
    },
  ];
  const started = await startComponents(components, logger);
  if (!app || !ingest) throw new Error('server components misassembled: http and ingest must start');
  const running = ingest;

  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
  const urlHost = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;

  const attachIngest = (mqttConfig: MqttConfigInput): void => {
    if (mqtt) throw new Error('ingest is already attached to a broker');
    const settings = mqttConfigSchema.parse(mqttConfig);
    const connection = openPublishConnection(settings, ingestLogger);
    subscribeToResults(connection, commandResults, commandsLogger);
    const source = createMqttSource(
      settings,
      {
        event: (message) => running.handle(message),
        state: (message) => {
          const topic = parseTopic(message.topic);
          if (topic?.type === 'state') deviceStates.apply(topic.deviceId, message.payload, message.receivedAt);
        },
        sessionLost: () => void republishConsents(stores.directory, consent, logger.child({ component: 'consent' })),
      },
      ingestLogger,
    );
    mqtt = { source, outbound: connection };
    source.connect();
    markAttached(source);
  };
  if (config.mqtt) attachIngest(config.mqtt);

  return {
    httpUrl: `http://${urlHost}:${httpPort}`,
    httpPort,
    // Opened by the first component: startComponents would have thrown otherwise.
    get stores() {
      return stores;
    },
    attachIngest,
    whenIngestReady: () => attached.then((s) => s.whenReady()),
    advertiseMqtt(url) {
      advertised.mqttUrl = url;
    },
    controlFleet(control) {
      fleetControl = control;
    },
    stats: () => stats.snapshot(),
    close: () => started.stop(),
  };
}

/** What erasure asks of the device and the broker, beyond the stores: wipe, clear retained, revoke. */
function erasureAtTheEdges(
  config: ServerConfig,
  commands: CommandSender,
  outbound: () => PublishConnection | null,
  mosquitto: MosquittoSync | null,
  metrics: Metrics,
  privacyLogger: Logger,
): Pick<PrivacyDeps, 'wipeLocalData' | 'clearRetainedMessages' | 'revokeAtBroker' | 'forgetAtGlobalDirectory'> {
  const globalDirectory = config.globalDirectory;
  return {
    ...(globalDirectory === null
      ? {}
      : { forgetAtGlobalDirectory: (deviceIds) => forgetAtGlobalDirectory(globalDirectory, deviceIds, metrics, privacyLogger) }),
    wipeLocalData(deviceId) {
      commands.send(deviceId, 'wipe-local-data', {}, config.consentPublishTimeoutMs).then(
        (outcome) => privacyLogger.info({ deviceId, status: outcome.status }, 'wipe-local-data sent to erased device'),
        (err: unknown) => privacyLogger.warn({ err, deviceId }, 'wipe-local-data could not be sent'),
      );
    },
    clearRetainedMessages(deviceId) {
      const connection = outbound();
      if (!connection) return;
      clearRetainedMessages(connection, deviceId).catch((err: unknown) => privacyLogger.warn({ err, deviceId }, 'retained messages not cleared'));
    },
    async revokeAtBroker(deviceId) {
      // Mosquitto drops the line's client on the reload that follows; the notice serves our broker.
      await mosquitto?.removed([deviceId]);
      const outcome = await publishRevocation(outbound(), deviceId, config.consentPublishTimeoutMs);
      metrics.revocationNotices.inc({ outcome });
      if (outcome === 'acknowledged') privacyLogger.info({ deviceId }, 'broker told: credentials revoked');
      // The registry already refuses the device; a broker node's cached verification may let it in
      // until the notice arrives (sent on reconnect) or the cache entry expires.
      else privacyLogger.warn({ deviceId, outcome }, 'credential revocation notice not acknowledged by the broker');
    },
  };
}
