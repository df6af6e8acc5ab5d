import type { LimitReason } from './client-limits.ts';

/** The broker's counters, as RunningBroker.stats() returns them and the metrics read them. */
export interface BrokerStats {
  /** Clients connected and authenticated right now. */
  connections: number;
  /** Of those, by the MQTT version they connected with (a fleet mid-migration shows both). */
  connectionsByProtocol: { '3.1.1': number; '5': number };
  /** PUBLISH packets accepted from clients, wills included. */
  messagesIn: number;
  /** Deliveries to subscribers (one message to three subscribers counts three). */
  messagesOut: number;
  authFailures: number;
  /** Connections refused unchecked because their source failed authentication too often. */
  authThrottled: number;
  /** Of those, refused for the failures of their whole address (any username). */
  authThrottledByAddress: number;
  /** Device logins refused from the negative cache: the same pair was just refused by the registry. */
  authNegativeCacheHits: number;
  /** Device logins refused with CONNACK 3 because too many registry checks ran and waited. */
  authChecksBusy: number;
  /** Requests sent to the registry, and the logins they carried (their ratio is the batching). */
  authRequests: number;
  authRequestItems: number;
  /** Registry checks running now, and CONNECTs waiting for one. */
  authChecksActive: number;
  authChecksQueued: number;
  /** Refused publishes and subscriptions. */
  denials: number;
  /** Of the denials, publishes refused for a retain flag outside the sender's state topic. */
  retainRefused: number;
  /** Credential revocation notices heard from the server, malformed ones ignored, sessions they closed. */
  revocationNotices: number;
  revocationNoticesMalformed: number;
  revokedSessions: number;
  /** Connections dropped for announcing a packet larger than maxPacketBytes. */
  oversizePackets: number;
  /** Deliveries discarded for being larger than the MQTT 5 client's Maximum Packet Size [MQTT-3.1.2-25]. */
  forwardsTooLarge: number;
  /** CONNECTs sent to another server by the redirect hook (v5 CONNACK 0x9C, 3.1.1 CONNACK 3). */
  redirects: number;
  /** Device logins of another plane sent to their home plane (v5 CONNACK 0x9C, 3.1.1 CONNACK 3); see docs/planes.md. */
  misdirected: number;
  /** Plane directory lookups sent, those without a usable answer, and those answered from the cache (0 without a plane). */
  directoryLookups: number;
  directoryUnavailable: number;
  directoryCacheHits: number;
  /** Errors of the cluster's Redis connections (0 without a cluster); ioredis reconnects meanwhile. */
  clusterErrors: number;
  /** Times a node's cluster pub/sub subscription dropped (ioredis resubscribes), and the messages of other nodes it missed meanwhile (seen as sequence gaps). */
  clusterSubscriberDrops: number;
  clusterMessagesLost: number;
  /** Clients cut off (or refused at CONNECT) for a limit, by reason. */
  limitDisconnects: Record<LimitReason, number>;
}
