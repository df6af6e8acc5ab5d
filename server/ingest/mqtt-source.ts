import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { topics } from '../../schema/topics.ts';
import type { MqttConfig } from '../config.ts';
import type { IngestMessage } from './message.ts';
import { createFrameReader, type IncomingPublish } from './mqtt-frames.ts';
import { IngestAbortedError } from './retry.ts';

export interface MessageHandlers {
  /** Resolves when the message may be acknowledged; a rejection leaves it unacknowledged at the broker. */
  event(message: IngestMessage): Promise<unknown>;
  state(message: IngestMessage): void;
  /** The broker had no session of ours: it is new or forgot its state, retained messages included. */
  sessionLost(): void;
}

export interface MqttSource {
  connect(): void;
  /** Resolves once the subscriptions are granted the first time. */
  whenReady(): Promise<void>;
  connected(): boolean;
  /** Drops the connection and reconnects at once: the broker then redelivers every unacknowledged message. */
  reconnect(): void;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;
const END_TIMEOUT_MS = 2_000;
const SUBSCRIBE_ID = 1;
/** PUBACK is always four bytes: type 4, remaining length 2, then the packet id. */
const PUBACK_HEADER = 0x4002_0000;

/** The event filter, plain or through a shared-subscription group. */
export function eventFilter(shareGroup: string | undefined): string {
  return shareGroup ? `$share/${shareGroup}/${topics.filters.allEvents}` : topics.filters.allEvents;
}

function brokerAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') throw new Error(`ingest speaks MQTT over TCP only (mqtt://host:port), got ${u.protocol}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 1883 };
}

/**
 * The MQTT side of ingest, MQTT 3.1.1 over one TCP socket (PUBLISH read by mqtt-frames.ts, the rest by mqtt-packet): a persistent session (fixed
 * client id, clean: false) with QoS 1 subscriptions, so messages published while the server is down
 * wait at the broker.
 *
 * Why not mqtt.js: it hands incoming packets over one at a time, so acknowledging after the commit
 * let one message per commit through. Here every PUBLISH goes to ingest at once, many are in flight
 * (they meet in the per-region batches), and each PUBACK is written when its own row committed or
 * its refusal was recorded — so acknowledgements may leave in another order than the PUBLISHes came.
 * Brokers accept that (aedes and Mosquitto match PUBACKs by packet id); 3.1.1 asks clients for order,
 * but keeping it would let one slow region hold back every other region's acknowledgements.
 */
export function createMqttSource(config: MqttConfig, handlers: MessageHandlers, logger: Logger): MqttSource {
  const { host, port } = brokerAddress(config.url);
  let socket: Socket | null = null;
  let generation = 0;
  let isConnected = false;
  let stopping = false;
  let attempt = 0;
  let inFlight = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  // Acknowledgements that become due in the same turn leave in one write.
  let acks: number[] = [];
  let acksFor: Socket | null = null;
  const flushAcks = (): void => {
    const target = acksFor;
    const ids = acks;
    acks = [];
    acksFor = null;
    if (!target || target.destroyed || ids.length === 0) return;
    const out = Buffer.allocUnsafe(ids.length * 4);
    ids.forEach((id, i) => out.writeUInt32BE(PUBACK_HEADER | id, i * 4));
    target.write(out);
  };
  const queueAck = (target: Socket, messageId: number): void => {
    if (acksFor !== target) {
      flushAcks();
      acksFor = target;
      setImmediate(flushAcks);
    }
    acks.push(messageId);
  };

  const send = (target: Socket, packet: Packet): void => {
    if (!target.destroyed) target.write(mqttPacket.generate(packet));
  };

  function scheduleReconnect(): void {
    if (stopping || reconnectTimer) return;
    const delay = Math.min(config.reconnectMaxMs, config.reconnectInitialMs * 2 ** attempt) * (0.75 + Math.random() / 2);
    attempt++;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      open();
    }, delay);
  }

  function onPublish(packet: IncomingPublish, target: Socket, gen: number): void {
    const message: IngestMessage = { topic: packet.topic, payload: packet.payload, receivedAt: new Date() };
    const ack = (): void => {
      // An ack on a later connection would name another delivery; the broker redelivers this one there.
      if (packet.qos > 0 && packet.messageId !== undefined && gen === generation) queueAck(target, packet.messageId);
    };
    if (packet.topic.endsWith('/state')) {
      handlers.state(message);
      ack();
      return;
    }
    if (++inFlight >= config.maxInFlight) target.pause();
    // One reaction per message, not a then/finally chain: this runs for every event.
    handlers.event(message).then(() => {
      ack();
      settled(target, gen);
    }, (err: unknown) => {
      // Not acknowledged on purpose: the broker redelivers it to our persistent session.
      if (!(err instanceof IngestAbortedError)) logger.error({ err, topic: message.topic }, 'ingest handler failed');
      settled(target, gen);
    });
  }

  function settled(target: Socket, gen: number): void {
    if (--inFlight < config.maxInFlight && gen === generation && target.isPaused()) target.resume();
  }

  function onPacket(packet: Packet, target: Socket, gen: number, sessionPresent: { value: boolean }): void {
    switch (packet.cmd) {
      case 'connack':
        if (packet.returnCode !== 0) {
          logger.error({ returnCode: packet.returnCode }, 'broker refused the ingest connection');
          target.destroy();
          return;
        }
        isConnected = true;
        attempt = 0;
        sessionPresent.value = packet.sessionPresent;
        logger.info({ sessionPresent: packet.sessionPresent }, 'ingest connected to broker');
        send(target, {
          cmd: 'subscribe',
          messageId: SUBSCRIBE_ID,
          subscriptions: [{ topic: eventFilter(config.shareGroup), qos: 1 }, { topic: topics.filters.allStates, qos: 1 }],
        });
        return;
      case 'suback': {
        const refused = packet.granted.some((g) => g === 128);
        if (refused) {
          logger.error('broker refused ingest subscriptions');
          return;
        }
        markReady();
        if (!sessionPresent.value) handlers.sessionLost();
        return;
      }
      default:
        return;
    }
  }

  function open(): void {
    const gen = ++generation;
    const target = netConnect({ host, port });
    target.setNoDelay(true);
    socket = target;
    const sessionPresent = { value: false };
    let awaitingPong = false;
    let pinger: NodeJS.Timeout | undefined;
    const connectTimer = setTimeout(() => target.destroy(), CONNECT_TIMEOUT_MS);

    const onOther = (packet: Packet): void => {
      if (packet.cmd === 'connack') {
        clearTimeout(connectTimer);
        pinger = setInterval(() => {
          // A broker that did not answer the last ping within half a keepalive is gone; start over.
          if (awaitingPong) return void target.destroy();
          awaitingPong = true;
          send(target, { cmd: 'pingreq' });
        }, (config.keepaliveSeconds * 1000) / 2);
      } else if (packet.cmd === 'pingresp') awaitingPong = false;
      onPacket(packet, target, gen, sessionPresent);
    };
    const read = createFrameReader({
      publish: (packet) => onPublish(packet, target, gen),
      other: onOther,
      malformed: (reason) => {
        logger.warn({ reason }, 'malformed packet from broker; reconnecting');
        target.destroy();
      },
    });
    target.on('connect', () => {
      send(target, {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: false,
        clientId: config.clientId,
        keepalive: config.keepaliveSeconds,
        username: config.username,
        password: Buffer.from(config.password),
      });
    });
    target.on('data', read);
    target.on('error', (err) => logger.warn({ err: err.message }, 'ingest mqtt error'));
    target.on('close', () => {
      clearTimeout(connectTimer);
      clearInterval(pinger);
      if (gen !== generation) return;
      if (isConnected && !stopping) logger.warn('ingest disconnected from broker');
      isConnected = false;
      socket = null;
      scheduleReconnect();
    });
  }

  return {
    connect() {
      if (generation === 0) open();
    },
    whenReady: () => ready,
    connected: () => isConnected,
    reconnect() {
      if (stopping) return;
      attempt = 0;
      if (socket) socket.destroy();
      else if (!reconnectTimer) open();
    },
    async close() {
      stopping = true;
      clearTimeout(reconnectTimer);
      const target = socket;
      if (!target) return;
      flushAcks();
      // A graceful end flushes the PUBACKs already written; a broker that is gone must not hold us up.
      const closed = new Promise<void>((resolve) => target.once('close', () => resolve()));
      if (isConnected) send(target, { cmd: 'disconnect' });
      target.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, END_TIMEOUT_MS)))]);
      clearTimeout(timer);
      target.destroy();
    },
  };
}
