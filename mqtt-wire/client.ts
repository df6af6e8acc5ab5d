import type { Duplex } from 'node:stream';
import mqttPacket, { type IPublishPacket, type ISubscription, type Packet } from 'mqtt-packet';
import { backoffDelay } from './backoff.ts';
import type { MqttClientHandlers, MqttClientOptions, PublishOptions, SubscribeDone } from './client-options.ts';
import { isFailure, ReasonCode, V5_DEFAULTS, type ProtocolVersion } from './codes.ts';
import { clientConnect } from './connect-packet.ts';
import { idsExhausted, MqttError, notConnected } from './errors.ts';
import { FrameReader, type FrameSink } from './frame-reader.ts';
import { keepaliveAction, sharedTicker, type Ticking } from './keepalive.ts';
import { OutgoingPublishes, type Done, type Outgoing } from './outgoing.ts';
import type { Acknowledgement, Connack, ControlPacket, IncomingPublish, Suback } from './packets.ts';
import { DueAcks } from './puback-batch.ts';
import { IncomingAliases, OutgoingAliases } from './topic-aliases.ts';
import { invalidTopicName } from './topic-name.ts';
import { openTransport } from './transport.ts';

export type { Done } from './outgoing.ts';

const GENERATE = { 4: { protocolVersion: 4 }, 5: { protocolVersion: 5 } } as const;
const END_TIMEOUT_MS = 2_000;

/**
 * The one MQTT client of brewtel's devices and services, 3.1.1 or 5: CONNECT with a will and a
 * persistent session, QoS 0/1 publishes acknowledged by callback and resent (DUP) after a reconnect,
 * subscriptions, incoming messages acknowledged on arrival or by the owner (manual ack), keepalive on
 * one shared timer, reconnects with the one backoff rule.
 *
 * Why not mqtt.js: each of its clients holds about 25 KB of heap (a fleet of 10,000 in one process
 * would not fit), and it hands incoming packets over one at a time, so acknowledging after a store
 * commit lets one message per commit through (mqttjs/MQTT.js #691, #758). This one holds a socket, a
 * frame reader and a map, and lets its owner acknowledge many messages in flight, in any order.
 */
export class MqttClient implements FrameSink, Ticking {
  private url: string;
  private stream: Duplex | null = null;
  private readonly outgoing = new OutgoingPublishes();
  private subacks: Map<number, SubscribeDone> | null = null;
  private isConnected = false;
  private connectionCount = 0;
  private openedAt = 0;
  private connectMs = 0;
  private lastSentAt = 0;
  private lastHeardAt = 0;
  private awaitingPong = false;
  private keepaliveMs: number;
  private serverMaxPacket = Infinity;
  private outAliases: OutgoingAliases | null = null;
  private inAliases: IncomingAliases | null = null;
  private readonly dueAcks = new DueAcks();
  private ended = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private nextDelayMs: number | null = null;
  private assignedClientId: string | undefined;

  constructor(
    private readonly options: MqttClientOptions,
    private readonly handlers: MqttClientHandlers,
  ) {
    this.url = options.url;
    this.keepaliveMs = options.keepaliveS * 1000;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** QoS 1 publishes handed over and not yet acknowledged by the broker. */
  get unacknowledged(): number {
    return this.outgoing.size;
  }

  /** Milliseconds from opening the latest successful connection to its CONNACK. */
  get lastConnectMs(): number {
    return this.connectMs;
  }

  /** The current (or last) connection's number, as stamped on its incoming publishes. */
  get connection(): number {
    return this.connectionCount;
  }

  get protocolVersion(): ProtocolVersion {
    return this.options.protocolVersion ?? 4;
  }

  /** Where the next connection goes, e.g. the server reference of a v5 redirect. */
  useUrl(url: string): void {
    this.url = url;
  }

  /** Opens a connection (the first or a new one); a no-op while one is open or opening. */
  open(): void {
    if (this.stream !== null) return;
    this.ended = false;
    this.clearReconnect();
    const version = this.protocolVersion;
    const stream = openTransport(this.url, this.options.tls);
    const reader = new FrameReader(this, version, ++this.connectionCount, this.options.maximumPacketSize);
    this.stream = stream;
    this.openedAt = Date.now();
    this.keepaliveMs = this.options.keepaliveS * 1000;
    stream.on('data', (chunk: Buffer) => {
      this.lastHeardAt = Date.now();
      this.awaitingPong = false;
      reader.push(chunk);
    });
    stream.on('error', (error: Error) => this.handlers.error(error));
    stream.on('close', () => this.onClose(stream));
    this.write(clientConnect(this.options, version, this.assignedClientId));
    sharedTicker.add(this);
  }

  /** QoS 1 is kept until acknowledged, across reconnects; `done` runs on the PUBACK, with the refusal if any. */
  publish(topic: string, payload: string | Buffer, options: PublishOptions, done?: Done): void {
    if (invalidTopicName(topic)) return done?.(new MqttError(`not a topic name: ${JSON.stringify(topic.slice(0, 100))}`, 'EINVAL'));
    const retain = options.retain ?? false;
    const { properties } = options;
    if (options.qos === 0) {
      if (!this.isConnected) return done?.(notConnected());
      // Done once the bytes are handed to the operating system: QoS 0 promises nothing more.
      const error = this.sendPacket({ cmd: 'publish', topic, payload, qos: 0, retain, dup: false, properties }, done && (() => done()));
      if (error !== null) done?.(error);
      return;
    }
    const messageId = this.outgoing.nextId(this.subacks);
    if (messageId === 0) return done?.(idsExhausted());
    // One object of one shape per publish: this runs for every event of every machine.
    const entry: Outgoing = { packet: { cmd: 'publish', topic, payload, qos: 1, retain, dup: false, messageId, properties }, done, sent: false, on: 0 };
    this.outgoing.add(entry);
    if (!this.isConnected) return;
    // Behind any older message still waiting for send quota, so order holds [MQTT-4.6.0-1].
    if (this.outgoing.onlyOneWaiting()) this.send(entry);
    else this.sendWaiting();
  }

  /** QoS 1 unless a subscription says otherwise; `done` gets an error when a filter is refused or the link drops first. */
  subscribe(filters: ReadonlyArray<string | ISubscription>, done: SubscribeDone): void {
    if (!this.isConnected) return done(notConnected(), []);
    const messageId = this.outgoing.nextId(this.subacks);
    if (messageId === 0) return done(idsExhausted(), []);
    this.subacks ??= new Map();
    this.subacks.set(messageId, done);
    this.write({ cmd: 'subscribe', messageId, subscriptions: filters.map((f) => (typeof f === 'string' ? { topic: f, qos: 1 } : f)) });
  }

  /**
   * Acknowledges one incoming message (manual-ack mode; otherwise the client does it on arrival):
   * PUBACK for QoS 1, written with the others due in the same turn; PUBREC for QoS 2. Valid only on
   * the connection it came in on: after a reconnect the broker sends it again, under an id that may
   * by then name another message. v5 may say why with a reason code (e.g. 0x80); 3.1.1 has none.
   */
  acknowledge(publish: IncomingPublish, reasonCode: number = ReasonCode.SUCCESS): void {
    if (publish.qos === 0 || publish.connection !== this.connectionCount || this.stream === null) return;
    if (publish.qos === 2) return void this.write({ cmd: 'pubrec', messageId: publish.messageId });
    if (this.dueAcks.add(this.connectionCount, publish.messageId, this.protocolVersion === 5 ? reasonCode : 0)) setImmediate(flushAcks, this);
  }

  /** Stops reading from the socket (messages wait at the broker and in TCP buffers) until resume(). */
  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    if (this.stream?.isPaused()) this.stream.resume();
  }

  /** Drops the socket at once, as a pulled cable would; the broker will publish the will. */
  destroy(): void {
    this.stream?.destroy();
  }

  /** Drops the connection now and opens the next one after `delayMs` (0: at once), whatever the backoff says. */
  restart(delayMs: number): void {
    this.nextDelayMs = delayMs;
    if (this.stream !== null) return void this.stream.destroy();
    this.clearReconnect();
    this.scheduleReconnect();
  }

  /** A clean DISCONNECT (no will), or with `force` just the socket closed; no reconnect. `done` runs once closed. */
  end(force: boolean, done: () => void): void {
    this.ended = true;
    this.clearReconnect();
    sharedTicker.delete(this);
    const stream = this.stream;
    if (stream === null) return done();
    // A broker that is gone must not hold the owner up.
    const timer = setTimeout(() => stream.destroy(), END_TIMEOUT_MS).unref();
    stream.once('close', () => {
      clearTimeout(timer);
      done();
    });
    this.writeAcks();
    if (force || !this.isConnected) return void stream.destroy();
    this.write({ cmd: 'disconnect' });
    stream.end();
  }

  /** Called by the shared ticker: connect timeout and keepalive. */
  tick(now: number): void {
    if (this.stream === null) return;
    if (!this.isConnected) {
      if (now - this.openedAt > this.options.connectTimeoutMs) this.fail(new MqttError('connect timed out', 'ETIMEDOUT'));
      return;
    }
    const action = keepaliveAction(now, this.keepaliveMs, this.lastSentAt, this.lastHeardAt, this.awaitingPong);
    if (action === 'dead') this.fail(new MqttError('the broker stopped answering (keepalive)', 'ETIMEDOUT'));
    else if (action === 'ping') {
      this.awaitingPong = true;
      this.write({ cmd: 'pingreq' });
    }
  }

  /** FrameSink: a PUBLISH from the server. */
  onPublish(publish: IncomingPublish): void {
    if (this.protocolVersion === 5 && (publish.topic.length === 0 || publish.properties?.topicAlias !== undefined)) {
      this.inAliases ??= new IncomingAliases(this.options.topicAliasMaximum ?? 0);
      const topic = this.inAliases.resolve(publish.topic, publish.properties?.topicAlias);
      if (topic === null) return this.protocolError('PUBLISH with an invalid topic alias', ReasonCode.TOPIC_ALIAS_INVALID);
      publish.topic = topic;
    }
    if (!this.options.manualAck) this.acknowledge(publish);
    this.handlers.message(publish);
  }

  /** FrameSink: every other packet. */
  onControl(packet: ControlPacket): void {
    switch (packet.cmd) {
      case 'connack':
        return this.onConnack(packet);
      case 'puback':
        return this.onPuback(packet);
      case 'suback':
        return this.onSuback(packet);
      case 'pubrel':
        return void this.write({ cmd: 'pubcomp', messageId: packet.messageId });
      case 'pingresp':
        return;
      case 'disconnect':
        this.handlers.disconnect?.(packet);
        // The server closes the connection after its DISCONNECT (v5 §3.14.4); so do we.
        return void this.stream?.destroy();
      case 'unexpected':
        return this.protocolError(`unexpected packet type ${packet.type} from the broker`, ReasonCode.PROTOCOL_ERROR);
    }
  }

  /** FrameSink: the bytes from the server are not MQTT. */
  onMalformed(reason: string): void {
    this.protocolError(reason, reason === 'packet too large' ? ReasonCode.PACKET_TOO_LARGE : ReasonCode.MALFORMED_PACKET);
  }

  /** Writes the acknowledgements due (from setImmediate, and before a DISCONNECT). */
  writeAcks(): void {
    const bytes = this.dueAcks.take(this.connectionCount);
    if (bytes !== null) this.writeBytes(bytes);
  }

  /** The reconnect timer's end. */
  reopen(): void {
    this.reconnectTimer = null;
    if (!this.ended) this.open();
  }

  private onConnack(connack: Connack): void {
    if (this.isConnected) return this.protocolError('a second CONNACK', ReasonCode.PROTOCOL_ERROR);
    if (connack.reasonCode !== 0) {
      // Refused; the server closes the connection [MQTT-3.2.2-5] (v5 [MQTT-3.2.2-7]). A v5 refusal
      // may name another server (0x9C, 0x9D): the error carries it, the owner may follow (useUrl).
      return this.fail(new MqttError(`connection refused (CONNACK ${connack.reasonCode})`, connack.reasonCode, connack.properties, 'CONNACK'));
    }
    const properties = connack.properties;
    this.isConnected = true;
    this.connectMs = Date.now() - this.openedAt;
    this.attempt = 0;
    this.outgoing.reset(properties?.receiveMaximum ?? V5_DEFAULTS.receiveMaximum);
    this.serverMaxPacket = properties?.maximumPacketSize ?? Infinity;
    if (properties?.serverKeepAlive !== undefined) this.keepaliveMs = properties.serverKeepAlive * 1000;
    if (properties?.assignedClientIdentifier !== undefined) this.assignedClientId = properties.assignedClientIdentifier;
    const aliasMaximum = this.options.outgoingTopicAliases ? (properties?.topicAliasMaximum ?? V5_DEFAULTS.topicAliasMaximum) : 0;
    this.outAliases = aliasMaximum > 0 ? new OutgoingAliases(aliasMaximum) : null;
    this.inAliases = null;
    // In the order first handed over, with their packet ids [MQTT-4.4.0-1], [MQTT-4.6.0-1]; those
    // written before are marked as resent [MQTT-3.3.1-1], since the broker may have seen them. A
    // broker that lost the session (session present 0) gets them all the same: they are events, and
    // QoS 1 promises at least once.
    this.sendWaiting();
    this.handlers.connect(connack);
  }

  private onPuback(ack: Acknowledgement): void {
    const pending = this.outgoing.take(ack.messageId, this.connectionCount);
    if (pending === undefined) return;
    if (this.outgoing.sendable) this.sendWaiting();
    pending.done?.(
      isFailure(ack.reasonCode) ? new MqttError(`publish refused (PUBACK ${ack.reasonCode})`, ack.reasonCode, ack.properties, 'PUBACK') : undefined,
    );
  }

  private onSuback(suback: Suback): void {
    const done = this.subacks?.get(suback.messageId);
    if (done === undefined) return;
    this.subacks!.delete(suback.messageId);
    const refused = suback.granted.find(isFailure);
    done(refused === undefined ? undefined : new MqttError(`subscription refused (SUBACK ${refused})`, refused, suback.properties, 'SUBACK'), suback.granted);
  }

  /** Sends, oldest first, what is not yet on this connection, as far as the server's Receive Maximum allows. */
  private sendWaiting(): void {
    if (!this.isConnected) return;
    for (const entry of this.outgoing.due(this.connectionCount)) this.send(entry);
  }

  private send(entry: Outgoing): void {
    let packet: IPublishPacket = entry.sent ? { ...entry.packet, dup: true } : entry.packet;
    const alias = this.outAliases?.lookup(packet.topic) ?? null;
    if (alias !== null) packet = { ...packet, topic: alias.known ? '' : packet.topic, properties: { ...packet.properties, topicAlias: alias.alias } };
    const error = this.sendPacket(packet);
    if (error === null) return this.outgoing.markSent(entry, this.connectionCount);
    if (alias !== null && !alias.known) this.outAliases?.forget(entry.packet.topic);
    this.outgoing.take(entry.packet.messageId!, this.connectionCount);
    entry.done?.(error);
  }

  /** Writes a PUBLISH, unless it exceeds the server's Maximum Packet Size (v5 §3.2.2.3.6): then the error. */
  private sendPacket(packet: IPublishPacket, written?: () => void): MqttError | null {
    const bytes = mqttPacket.generate(packet, GENERATE[this.protocolVersion]);
    if (bytes.length > this.serverMaxPacket)
      return new MqttError(`PUBLISH of ${bytes.length} bytes exceeds the server's maximum packet size`, ReasonCode.PACKET_TOO_LARGE);
    this.writeBytes(bytes, written);
    return null;
  }

  private protocolError(reason: string, reasonCode: number): void {
    // v5: say why before closing (v5 §4.13); 3.1.1 has only the close.
    if (this.protocolVersion === 5) this.write({ cmd: 'disconnect', reasonCode });
    this.fail(new MqttError(reason, 'EPROTO'));
  }

  private fail(error: MqttError): void {
    this.handlers.error(error);
    this.stream?.destroy();
  }

  private onClose(stream: Duplex): void {
    if (this.stream !== stream) return;
    this.stream = null;
    this.isConnected = false;
    this.dueAcks.clear();
    const subacks = this.subacks;
    this.subacks = null;
    for (const done of subacks?.values() ?? []) done(new MqttError('connection closed', 'ECONNRESET'), []);
    sharedTicker.delete(this);
    this.handlers.close();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.ended || this.reconnectTimer !== null || this.stream !== null) return;
    const policy = this.options.reconnect;
    const delay = this.nextDelayMs ?? (policy ? backoffDelay(this.attempt++, policy, Math.random) : null);
    this.nextDelayMs = null;
    if (delay !== null) this.reconnectTimer = setTimeout(reopen, delay, this);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer === null) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  /** False when there is no connection to write to (the packet is not sent). */
  private write(packet: Packet): boolean {
    return this.writeBytes(mqttPacket.generate(packet, GENERATE[this.protocolVersion]));
  }

  private writeBytes(bytes: Buffer, written?: () => void): boolean {
    // After a DISCONNECT nothing more goes out on that connection [MQTT-3.14.4-1]; an ack or publish
    // timed before end() would only fail as a write after end.
    if (this.stream === null || this.stream.destroyed || this.stream.writableEnded) return false;
    this.lastSentAt = Date.now();
    if (this.options.tally !== undefined) this.options.tally.bytesWritten += bytes.length;
    this.stream.write(bytes, written);
    return true;
  }
}

// Timer callbacks at module level, so no client holds a closure per timer.
function flushAcks(client: MqttClient): void {
  client.writeAcks();
}
function reopen(client: MqttClient): void {
  client.reopen();
}
