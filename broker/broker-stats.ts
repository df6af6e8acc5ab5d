import type { LimitReason } from './client-limits.ts';

/** The broker's counters, as RunningBroker.stats() returns them and the metrics read them. */
export interface BrokerStats {
  /** Clients connected and authenticated right now. */
  connections: number;
  /** PUBLISH packets accepted from clients, wills included. */
  messagesIn: number;
  /** Deliveries to subscribers (one message to three subscribers counts three). */
  messagesOut: number;
  authFailures: number;
  /** Connections refused unchecked because their source failed authentication too often. */
  authThrottled: number;
  /** Refused publishes and subscriptions. */
  denials: number;
  /** Connections dropped for announcing a packet larger than maxPacketBytes. */
  oversizePackets: number;
  /** Clients cut off (or refused at CONNECT) for a limit, by reason. */
  limitDisconnects: Record<LimitReason, number>;
}
