import { consentRecordSchema } from '../schema/consent.ts';
import { EVENT_KINDS, type EventKind } from '../schema/events.ts';
import { parseTopic, topics } from '../schema/topics.ts';
import { DEFAULT_BACKOFF } from '../mqtt-wire/backoff.ts';
import { MqttClient, type Done } from '../mqtt-wire/client.ts';
import type { PublishOptions } from '../mqtt-wire/client-options.ts';
import { MqttError } from '../mqtt-wire/errors.ts';
import type { Properties } from '../mqtt-wire/properties.ts';
import type { OutgoingEnvelope } from './envelope.ts';
import type { FleetCounters } from './fleet-stats.ts';
import { WindowShare, type WindowWaiter } from './fleet-window.ts';
import { DEFAULT_MQTT_VERSION } from './mqtt-version.ts';
import { MachineBacklog } from './machine-backlog.ts';
import { HomePlaneLookup } from './home-plane-lookup.ts';
import { MAX_REDIRECTS_IN_A_ROW, ServerRedirects } from './server-redirects.ts';
import { type CommandRequest, EventOptions, NO_REQUEST, RETAINED, replyRoute, TEXT_PAYLOAD } from './device-publish-options.ts';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_SESSION_EXPIRY_S, DEFAULT_WILL_DELAY_S, type DeviceConnectionOptions } from './device-connection-options.ts';

const KEEPALIVE_S = 60;
/** Our broker caps packets at 256 KiB; a stream announcing several MiB is garbage, not a message. */
const MAX_PACKET_BYTES = 4 * 1024 * 1024;

/**
 * One machine's MQTT link, the way real firmware holds it: its own credentials, a persistent session,
 * QoS 1, a retained `offline` will, `online` on every connect, and reconnects with exponential
 * backoff and jitter (mqtt-wire's client, which resends what was unacknowledged).
 */
export class DeviceConnection implements WindowWaiter {
  private readonly link: MqttClient;
  private readonly ackCallbacks: Record<EventKind, Done>;
  private readonly stateTopic: string;
  private readonly commandPrefix: string;
  private readonly offline: MachineBacklog;
  private readonly redirects: ServerRedirects;
  private readonly homeLookup: HomePlaneLookup | null;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private readonly share: WindowShare;
  private stopping = false;
  private isConnected = false;
  private complainedSinceConnect = false;
  private subscribed = false;
  /** Set while a refused attempt is being followed to the server it named: not yet an outcome for firstAttempt. */
  private redirecting = false;
  private readonly eventOptions = new EventOptions();
  /**
   * Each kind's event topic, made at its first use and kept: a topic built per event is a chain of
   * string pieces held by every publish in flight until its PUBACK.
   */
  private eventTopics: Partial<Record<EventKind, string>> | null = null;
  /** Waiting for the outcome of the next attempt (see firstAttempt); null when nobody waits. */
  private attemptWaiters: Array<(connected: boolean) => void> | null = null;

  constructor(private readonly options: DeviceConnectionOptions) {
    const { deviceId, counters } = options;
    this.stateTopic = topics.state(deviceId);
    this.commandPrefix = topics.command(deviceId, '');
    this.offline = new MachineBacklog(options.offlineBufferSize, counters);
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.share = new WindowShare(options.window, this);
    this.redirects = new ServerRedirects(options.brokerUrl, MAX_REDIRECTS_IN_A_ROW, options.directory !== undefined);
    const mqttVersion = options.mqttVersion ?? DEFAULT_MQTT_VERSION;
    const { directory, logger } = options;
    const move = (url: string): boolean => this.moveToPlane(url);
    this.homeLookup = directory ? new HomePlaneLookup({ directory, deviceId, version: mqttVersion, counters, logger, move }) : null;
    // One callback per kind, made once: the PUBACK path allocates nothing. The window is refilled
    // before the counters wake anyone waiting on them, so a waiter sees the buffer already drained.
    this.ackCallbacks = Object.fromEntries(
      EVENT_KINDS.map((kind) => [
        kind,
        (error?: Error) => {
          this.inFlight--;
          this.share.returnOne();
          this.drain();
          if (error) {
            countPubackRefusal(counters, error);
            counters.failedOne();
          } else counters.acked(kind);
        },
      ]),
    ) as Record<EventKind, Done>;

    this.link = new MqttClient(
      {
        url: options.brokerUrl,
        protocolVersion: mqttVersion,
        clientId: deviceId,
        username: deviceId,
        password: options.secret,
        keepaliveS: KEEPALIVE_S,
        maximumPacketSize: MAX_PACKET_BYTES,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
        // v5: a session that ends instead of one kept forever (v5 §3.1.2.11.2), and a will held back
        // for a while (v5 §3.1.3.2.2): back within the delay, no `offline` is published [MQTT-3.1.3-9].
        properties: { sessionExpiryInterval: options.sessionExpiryS ?? DEFAULT_SESSION_EXPIRY_S },
        will: {
          topic: this.stateTopic,
          payload: 'offline',
          retain: true,
          properties: { willDelayInterval: options.willDelayS ?? DEFAULT_WILL_DELAY_S, ...TEXT_PAYLOAD },
        },
        reconnect: options.backoff ?? DEFAULT_BACKOFF,
        outgoingTopicAliases: mqttVersion === 5 && (options.topicAliases ?? true),
        // The fleet's counters add up what every machine writes (bench:sim reports it per event).
        tally: counters,
      },
      {
        connect: (connack) => this.onConnect(connack.sessionPresent),
        close: () => this.onClose(),
        error: (error) => {
          if (error instanceof MqttError && error.from === 'CONNACK' && error.reasonCode !== undefined) {
            if (this.followRedirect(error.reasonCode, error.serverReference)) return;
            counters.refused('connack', error.reasonCode);
            this.homeLookup?.refused(error.reasonCode, this.redirects.current);
          }
          this.complain(error);
        },
        message: (publish) => this.onMessage(publish.topic, publish.payload, publish.properties),
        disconnect: (packet) => {
          counters.refused('disconnect', packet.reasonCode ?? 0);
          this.options.logger.warn({ deviceId, reasonCode: packet.reasonCode }, 'the broker disconnected the machine');
        },
      },
    );
    this.link.open();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Milliseconds from opening the latest successful connection to its CONNACK (a login's latency). */
  get lastConnectMs(): number {
    return this.link.lastConnectMs;
  }

  /** Events waiting in the offline buffer, for the link or for room in the in-flight window. */
  get backlog(): number {
    return this.offline.size;
  }

  /** Resolves at the first connect or the first failure (a redirect followed is neither), whichever comes first; retries continue either way. */
  firstAttempt(): Promise<boolean> {
    if (this.isConnected) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.attemptWaiters ??= [];
      this.attemptWaiters.push(resolve);
    });
  }

  /** Sends now when connected; otherwise keeps the event for the next connection (store-and-forward). */
  publish(kind: EventKind, envelope: OutgoingEnvelope): void {
    this.send(kind, JSON.stringify(envelope), this.eventOptions.forConsent(this.link.protocolVersion, envelope.consentVersion));
  }

  /**
   * Sends an already serialised payload, e.g. a replayed or deliberately malformed one; without the
   * envelope's user properties unless `options` carries them (a replay does not know the consent applied).
   */
  send(kind: EventKind, payload: string, options: PublishOptions = this.eventOptions.plain(this.link.protocolVersion)): void {
    this.options.recorder?.record(this.options.deviceId, kind, payload);
    // Behind anything already waiting, so order holds.
    if (this.isConnected && this.offline.size === 0 && this.roomToSend()) {
      this.transmit(kind, payload, options);
      return;
    }
    this.offline.keep(kind, payload, options);
  }

  /**
   * Answers a command on `cmd-result/{name}`, QoS 1, not retained. `done` runs once the broker has
   * it (or the attempt failed), so a reboot can wait until its own answer is out.
   */
  reply(name: string, payload: string, done: () => void = () => {}, request: CommandRequest = NO_REQUEST): void {
    const { topic, options } = replyRoute(this.options.deviceId, this.link.protocolVersion, name, request, this.options.logger);
    this.link.publish(topic, payload, options, (error) => {
      if (error) {
        countPubackRefusal(this.options.counters, error);
        this.complain(error);
      }
      done();
    });
  }

  /** Forgets what waits for a connection (a wipe of local data); returns how many events were discarded. */
  discardBuffered(): number {
    return this.offline.discard();
  }

  /**
   * A power cycle: the link drops at once (the broker's will says `offline`) and comes back after
   * `downMs`. Unacknowledged messages survive in the session stores, as in flash on real firmware.
   */
  restart(downMs: number): void {
    if (this.stopping) return;
    this.goOffline();
    this.link.restart(downMs);
  }

  /** Cuts the link without warning, as a flaky network would; the usual backoff brings it back. */
  dropLink(): void {
    if (this.stopping || !this.isConnected) return;
    this.goOffline();
    this.link.destroy();
  }

  /** Subscribing again makes the broker resend the retained record; offline, the next connect does it. */
  refetchConsent(): void {
    if (!this.isConnected) {
      this.subscribed = false;
      return;
    }
    this.link.subscribe([topics.consent(this.options.deviceId)], (error) => error && this.complain(error));
  }

  /** From here on events are buffered, even before the socket reports its close. */
  private goOffline(): void {
    if (this.isConnected) this.options.counters.connected--;
    this.isConnected = false;
    this.share.returnAll();
  }

  /**
   * Room in this machine's window and, in a fleet, a permit of the fleet's; without one the machine
   * queues for the next free permit (fleet-window.ts).
   */
  private roomToSend(): boolean {
    return this.inFlight < this.maxInFlight && this.share.take();
  }

  /** WindowWaiter: the fleet's window has room again. */
  resume(): void {
    this.drain();
  }

  private transmit(kind: EventKind, payload: string, options: PublishOptions): void {
    this.inFlight++;
    this.options.counters.sent();
    this.eventTopics ??= {};
    this.eventTopics[kind] ??= flat(topics.event(this.options.deviceId, kind));
    this.link.publish(this.eventTopics[kind], payload, options, this.ackCallbacks[kind]);
  }

  /**
   * Oldest first, as far as the in-flight window allows; after the client has resent what was in
   * flight when the link dropped, so order holds.
   */
  private drain(): void {
    while (this.isConnected && this.offline.size > 0 && this.roomToSend()) {
      const item = this.offline.next();
      if (item === undefined) return;
      this.transmit(item.kind, item.payload, item.options);
    }
  }

  /**
   * Says goodbye the way a powered-down machine would if it could: `offline`, retained, then a clean
   * DISCONNECT. With messages still unacknowledged, no link at all or no time left, the socket is
   * simply closed.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (timeoutMs <= 0) return new Promise<void>((resolve) => this.link.end(true, resolve));
    if (this.isConnected) {
      await withTimeout(new Promise<void>((resolve) => this.link.publish(this.stateTopic, 'offline', RETAINED, () => resolve())), timeoutMs);
    }
    const force = !this.isConnected || this.link.unacknowledged > 0;
    await withTimeout(new Promise<void>((resolve) => this.link.end(force, resolve)), timeoutMs);
  }

  /**
   * A v5 CONNACK 0x9C/0x9D naming a server we can open: the next attempt goes there at once, outside
   * the backoff (server-redirects.ts says for how long and how often). Counted as a redirect, not a refusal.
   */
  private followRedirect(reasonCode: number, serverReference: string | undefined): boolean {
    if (this.link.protocolVersion !== 5 || this.stopping) return false;
    const url = this.redirects.refused(reasonCode, serverReference);
    if (url === null) return false;
    this.options.counters.redirected++;
    this.redirecting = true;
    this.options.logger.debug({ deviceId: this.options.deviceId, reasonCode, serverReference: url }, 'following the broker to another server');
    this.link.restart(0);
    return true;
  }

  /** To the home plane the directory named (home-plane-lookup.ts), at once and from now on. */
  private moveToPlane(url: string): boolean {
    if (this.stopping || this.isConnected) return false;
    this.redirects.relocate(url);
    this.link.useUrl(url);
    this.link.restart(0);
    return true;
  }

  private onConnect(sessionPresent: boolean): void {
    this.redirects.connected();
    this.complainedSinceConnect = false;
    if (!this.isConnected) this.options.counters.connectedOne();
    this.isConnected = true;
    // What the client resends on this connection is in flight again (see fleet-window.ts).
    this.share.retake(this.inFlight);
    this.settleAttempt(true);
    this.link.publish(this.stateTopic, 'online', RETAINED);
    this.drain();
    // A resumed session keeps the subscriptions, but a freshly booted device holds no consent record
    // yet: subscribing again makes the broker resend the retained one.
    if (!sessionPresent || !this.subscribed) {
      const { deviceId } = this.options;
      this.link.subscribe([topics.consent(deviceId), topics.filters.deviceCommands(deviceId)], (error) => {
        if (error) this.complain(error);
        else this.subscribed = true;
      });
    }
  }

  private onClose(): void {
    this.link.useUrl(this.redirects.closed());
    this.goOffline();
    if (this.redirecting) this.redirecting = false;
    else this.settleAttempt(false);
  }

  private settleAttempt(connected: boolean): void {
    const waiters = this.attemptWaiters;
    this.attemptWaiters = null;
    for (const resolve of waiters ?? []) resolve(connected);
  }

  private onMessage(topic: string, payload: Buffer, properties: Properties | undefined): void {
    const parsed = parseTopic(topic);
    // A topic under cmd/ that breaks the grammar is still a command to refuse (and count), not to ignore.
    if (parsed?.type === 'command' || (parsed === null && topic.startsWith(this.commandPrefix))) {
      this.options.counters.commands++;
      const request = properties === undefined ? NO_REQUEST : { responseTopic: properties.responseTopic, correlationData: properties.correlationData };
      this.options.onCommand(parsed?.type === 'command' ? parsed.name : '', payload, request);
      return;
    }
    if (parsed?.type !== 'consent' || payload.length === 0) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      json = undefined;
    }
    const record = consentRecordSchema.safeParse(json);
    if (!record.success) {
      this.options.logger.warn({ deviceId: this.options.deviceId, code: 'consent_invalid' }, 'ignored an invalid consent record');
      return;
    }
    this.options.onConsent(record.data);
  }

  /** A broker that is down makes every retry fail; say so once per outage, not once per attempt. */
  private complain(error: Error & { code?: string | number }): void {
    const level = this.complainedSinceConnect ? 'debug' : 'warn';
    this.complainedSinceConnect = true;
    this.options.logger[level]({ deviceId: this.options.deviceId, code: error.code, err: error.message }, 'mqtt connection problem');
  }
}

/** Only the broker's own refusals (a v5 PUBACK of 0x80 or more), not a publish the client gave up itself. */
function countPubackRefusal(counters: FleetCounters, error: Error): void {
  if (error instanceof MqttError && error.from === 'PUBACK' && error.reasonCode !== undefined) counters.refused('puback', error.reasonCode);
}

/** Resolves true if the promise settled in time, false otherwise; never rejects. */
async function withTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The same text as one contiguous string: V8 keeps a concatenation as a tree of pieces until it is
 * read as a whole; a string kept for the whole run is cheaper flat.
 */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
