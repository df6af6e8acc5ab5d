import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { createWebSocketStream, WebSocket } from 'ws';
import { FrameReader, type IncomingPacket } from './mqtt-frames.ts';

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  username: string;
  password: string;
  keepaliveS: number;
  connectTimeoutMs: number;
  will: { topic: string; payload: string; retain: boolean };
}

export interface MqttLinkHandlers {
  connect(sessionPresent: boolean): void;
  /** The socket is gone; unacknowledged publishes are kept and resent on the next open(). */
  close(): void;
  error(error: Error & { code?: string | number }): void;
  message(topic: string, payload: Buffer): void;
}

export type Done = (error?: Error) => void;

interface Outgoing {
  packet: IPublishPacket;
  done: Done | undefined;
  /** Written to a connection at least once: only then is sending it again a redelivery (DUP). */
  sent: boolean;
}

const SUBACK_FAILURE = 128;
const PROTOCOL = { protocolVersion: 4 } as const;

/**
 * One device's MQTT 3.1.1 client, just what firmware needs: CONNECT with a will and a persistent
 * session, QoS 1 publishes acknowledged by callback and resent (DUP) after a reconnect, QoS 1
 * subscriptions, incoming messages, keepalive. Why not mqtt.js: each of its clients holds about
 * 25 KB of heap (stores, stream pipeline, id allocator, timers), which puts a fleet of 10,000
 * machines in one process far beyond its memory budget; this one holds a socket, a frame reader
 * and a map.
 * Reconnecting is the caller's decision (open() again), as is any backoff.
 */
export class MqttLink {
  private stream: Duplex | null = null;
  private readonly outgoing = new Map<number, Outgoing>();
  private subacks: Map<number, Done> | null = null;
  private lastId = 0;
  private isConnected = false;
  private openedAt = 0;
  private lastSentAt = 0;
  private lastHeardAt = 0;

  constructor(
    private readonly options: MqttLinkOptions,
    private readonly handlers: MqttLinkHandlers,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }

  /** Publishes handed over and not yet acknowledged by the broker. */
  get unacknowledged(): number {
    return this.outgoing.size;
  }

  /** Opens a connection (the first or a new one); a no-op while one is open or opening. */
  open(): void {
    if (this.stream !== null) return;
    const stream = openStream(this.options.url);
    const reader = new FrameReader();
    this.stream = stream;
    this.openedAt = Date.now();
    stream.on('data', (chunk: Buffer) => {
      this.lastHeardAt = Date.now();
      const broken = reader.push(chunk, this.onPacket);
      if (broken === null) return;
      this.handlers.error(Object.assign(new Error(broken), { code: 'EPROTO' }));
      stream.destroy();
    });
    stream.on('error', (error: Error) => this.handlers.error(error));
    stream.on('close', () => this.onClose(stream));
    const { clientId, username, password, keepaliveS, will } = this.options;
    this.write({
      cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId, username, password: Buffer.from(password),
      keepalive: keepaliveS, will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: will.retain },
    });
    keepalive.add(this);
  }

  /** QoS 1. Kept until acknowledged, across reconnects; `done` runs on the PUBACK. */
  publish(topic: string, payload: string, retain: boolean, done?: Done): void {
    const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos: 1, retain, dup: false, messageId: this.nextId() };
    const entry: Outgoing = { packet, done, sent: false };
    this.outgoing.set(packet.messageId!, entry);
    if (this.isConnected) entry.sent = this.write(packet);
  }

  /** QoS 1 subscriptions; `done` gets an error when the broker refuses one or the link drops first. */
  subscribe(filters: readonly string[], done: Done): void {
    if (!this.isConnected) {
      done(new Error('not connected'));
      return;
    }
    const messageId = this.nextId();
    (this.subacks ??= new Map()).set(messageId, done);
    this.write({ cmd: 'subscribe', messageId, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) });
  }

  /** Drops the socket at once, as a pulled cable would; the broker will publish the will. */
  destroy(): void {
    this.stream?.destroy();
  }

  /** A clean DISCONNECT (no will), or with `force` just the socket closed. `done` runs once it is closed. */
  end(force: boolean, done: () => void): void {
    const stream = this.stream;
    keepalive.delete(this);
    if (stream === null) {
      done();
      return;
    }
    stream.once('close', done);
    if (force || !this.isConnected) stream.destroy();
    else {
      this.write({ cmd: 'disconnect' });
      stream.end();
    }
  }

  /** Called by the shared keepalive ticker. */
  tick(now: number): void {
    const keepaliveMs = this.options.keepaliveS * 1000;
    if (!this.isConnected) {
      if (this.stream !== null && now - this.openedAt > this.options.connectTimeoutMs) {
        this.handlers.error(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
        this.stream.destroy();
      }
      return;
    }
    // A broker that stays silent for one and a half keepalive periods is gone, as the spec says.
    if (now - this.lastHeardAt > keepaliveMs * 1.5) this.stream?.destroy();
    else if (now - this.lastSentAt >= keepaliveMs) this.write({ cmd: 'pingreq' });
  }

  private readonly onPacket = (packet: IncomingPacket): void => {
    switch (packet.cmd) {
      case 'connack':
        if (packet.returnCode !== 0) {
          this.handlers.error(Object.assign(new Error(`connection refused (CONNACK ${packet.returnCode})`), { code: packet.returnCode }));
          this.stream?.destroy();
          return;
        }
        this.isConnected = true;
        // In the order first handed over, with their packet ids [MQTT-4.4.0-1]; those already written
        // once are marked as resent [MQTT-3.3.1-1], since the broker may have seen them. A broker
        // that lost the session (session present 0) gets them all the same: they are events, and
        // QoS 1 promises at least once.
        for (const entry of this.outgoing.values()) entry.sent = this.write(entry.sent ? { ...entry.packet, dup: true } : entry.packet) || entry.sent;
        this.handlers.connect(packet.sessionPresent);
        return;
      case 'puback': {
        const pending = this.outgoing.get(packet.messageId);
        if (pending === undefined) return;
        this.outgoing.delete(packet.messageId);
        pending.done?.();
        return;
      }
      case 'suback': {
        const done = this.subacks?.get(packet.messageId);
        if (done === undefined) return;
        this.subacks?.delete(packet.messageId);
        done(packet.granted.includes(SUBACK_FAILURE) ? new Error('subscription refused') : undefined);
        return;
      }
      case 'publish':
        if (packet.qos === 1) this.write({ cmd: 'puback', messageId: packet.messageId });
        if (packet.qos === 2) this.write({ cmd: 'pubrec', messageId: packet.messageId });
        this.handlers.message(packet.topic, packet.payload);
        return;
      case 'pubrel':
        this.write({ cmd: 'pubcomp', messageId: packet.messageId });
        return;
      case 'pingresp':
        return;
      case 'unexpected':
        this.handlers.error(Object.assign(new Error(`unexpected packet type ${packet.type} from the broker`), { code: 'EPROTO' }));
        this.stream?.destroy();
    }
  };

  private onClose(stream: Duplex): void {
    if (this.stream !== stream) return;
    this.stream = null;
    this.isConnected = false;
    const subacks = this.subacks;
    this.subacks = null;
    for (const done of subacks?.values() ?? []) done(new Error('connection closed'));
    keepalive.delete(this);
    this.handlers.close();
  }

  /** False when there is no connection to write to (the packet is not sent). */
  private write(packet: Packet): boolean {
    if (this.stream === null || this.stream.destroyed) return false;
    this.lastSentAt = Date.now();
    this.stream.write(mqttPacket.generate(packet, PROTOCOL));
    return true;
  }

  /** 1..65535, skipping ids still in use. */
  private nextId(): number {
    do this.lastId = (this.lastId % 65_535) + 1;
    while (this.outgoing.has(this.lastId) || this.subacks?.has(this.lastId));
    return this.lastId;
  }
}

function openStream(url: string): Duplex {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  switch (u.protocol) {
    case 'mqtt:':
    case 'tcp:':
      return netConnect({ host, port: Number(u.port || 1883), noDelay: true });
    case 'mqtts:':
    case 'tls:':
      return tlsConnect({ host, port: Number(u.port || 8883), servername: host });
    case 'ws:':
    case 'wss:':
      return createWebSocketStream(new WebSocket(url, 'mqtt'));
    default:
      throw new Error(`unsupported broker URL scheme ${u.protocol}`);
  }
}

/**
 * One timer for every link in the process instead of one or two per link: ten thousand machines
 * would otherwise hold twenty thousand timers. Runs only while some link is open.
 */
const keepalive = (() => {
  const links = new Set<MqttLink>();
  let timer: NodeJS.Timeout | null = null;
  const tick = (): void => {
    const now = Date.now();
    for (const link of links) link.tick(now);
  };
  return {
    add(link: MqttLink): void {
      links.add(link);
      timer ??= setInterval(tick, 1_000).unref();
    },
    delete(link: MqttLink): void {
      links.delete(link);
      if (links.size === 0 && timer !== null) {
        clearInterval(timer);
        timer = null;
      }
    },
  };
})();
