import { Counter, Gauge, Registry } from 'prom-client';
import type { BrokerStats } from './broker-stats.ts';

/**
 * The broker's numbers in Prometheus text format. One registry per broker instance, so several
 * brokers in one process (tests, a cluster on a laptop) never share or clash. Values are read from
 * the broker's own counters at scrape time, so there is one source of truth.
 */
export function createBrokerMetrics(stats: () => BrokerStats): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, read: (s: BrokerStats) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(stats()));
      },
    });
  };

  const gauge = (name: string, help: string, read: (s: BrokerStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(stats()));
      },
    });
  };

  new Gauge({
    name: 'brewtel_broker_connections',
    help: 'Clients connected and authenticated now.',
    registers: [registry],
    collect() {
      this.set(stats().connections);
    },
  });
  new Gauge({
    name: 'brewtel_broker_connections_by_protocol',
    help: 'Clients connected now, by the MQTT version they connected with.',
    labelNames: ['version'],
    registers: [registry],
    collect() {
      for (const [version, n] of Object.entries(stats().connectionsByProtocol)) this.set({ version }, n);
    },
  });
  counter('brewtel_broker_messages_in_total', 'PUBLISH packets accepted from clients, wills included.', (s) => s.messagesIn);
  counter('brewtel_broker_messages_out_total', 'Deliveries to subscribers.', (s) => s.messagesOut);
  counter('brewtel_broker_cluster_errors_total', 'Errors of the cluster Redis connections (ioredis reconnects meanwhile).', (s) => s.clusterErrors);
  counter(
    'brewtel_broker_cluster_subscriber_drops_total',
    'Times the cluster Redis pub/sub subscription dropped (resubscribed by ioredis).',
    (s) => s.clusterSubscriberDrops,
  );
  counter(
    'brewtel_broker_cluster_messages_lost_total',
    'Messages of other cluster nodes this node never received (Redis pub/sub gaps).',
    (s) => s.clusterMessagesLost,
  );
  counter('brewtel_broker_denials_total', 'Publishes and subscriptions refused by the topic policy.', (s) => s.denials);
  counter('brewtel_broker_auth_failures_total', 'Connections refused for their credentials.', (s) => s.authFailures);
  counter('brewtel_broker_auth_throttled_total', 'Connections refused unchecked because their source failed authentication too often.', (s) => s.authThrottled);
  counter(
    'brewtel_broker_auth_address_throttled_total',
    'Of those, refused for the failures of their whole address across usernames.',
    (s) => s.authThrottledByAddress,
  );
  counter(
    'brewtel_broker_auth_negative_cache_hits_total',
    'Device logins refused from memory: the same device and secret were just refused by the registry.',
    (s) => s.authNegativeCacheHits,
  );
  counter(
    'brewtel_broker_auth_checks_busy_total',
    'Device logins refused with CONNACK 3: every registry check slot busy and the wait queue full (or the wait too long).',
    (s) => s.authChecksBusy,
  );
  counter('brewtel_broker_auth_requests_total', 'Requests sent to the device registry (a batch is one).', (s) => s.authRequests);
  counter('brewtel_broker_auth_request_items_total', 'Device logins those requests carried; over the requests, the batching.', (s) => s.authRequestItems);
  gauge('brewtel_broker_auth_checks_active', 'Registry checks of device logins running now.', (s) => s.authChecksActive);
  gauge('brewtel_broker_auth_checks_queued', 'Device logins waiting for a registry check slot.', (s) => s.authChecksQueued);
  counter('brewtel_broker_retain_refused_total', 'Publishes refused for their retain flag (a device may retain only its state).', (s) => s.retainRefused);
  counter('brewtel_broker_revocation_notices_total', 'Credential revocation notices heard from the server.', (s) => s.revocationNotices);
  counter('brewtel_broker_revocation_notices_malformed_total', 'Revocation notices that did not parse (ignored).', (s) => s.revocationNoticesMalformed);
  counter('brewtel_broker_revoked_sessions_total', 'Live sessions closed because their device was erased.', (s) => s.revokedSessions);
  counter('brewtel_broker_forwards_too_large_total', "Deliveries discarded: larger than the MQTT 5 client's Maximum Packet Size.", (s) => s.forwardsTooLarge);
  counter('brewtel_broker_redirects_total', 'Logins sent to another server by the redirect hook (MQTT 5 CONNACK 0x9C).', (s) => s.redirects);
  counter(
    'brewtel_broker_misdirected_total',
    'Device logins of another plane sent to their home plane (MQTT 5 CONNACK 0x9C, 3.1.1 CONNACK 3).',
    (s) => s.misdirected,
  );
  counter('brewtel_broker_directory_lookups_total', 'Requests to the plane directory after an unknown device login.', (s) => s.directoryLookups);
  counter(
    'brewtel_broker_directory_unavailable_total',
    'Plane directory lookups without a usable answer (down, slow, busy, malformed).',
    (s) => s.directoryUnavailable,
  );
  counter('brewtel_broker_oversize_packets_total', 'Connections dropped for a packet above the size cap.', (s) => s.oversizePackets);
  new Counter({
    name: 'brewtel_broker_limit_disconnects_total',
    help: 'Clients cut off (or refused) for a limit, by reason; their message is dropped.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats().limitDisconnects)) this.inc({ reason }, n);
    },
  });
  counter(
    'brewtel_broker_dropped_messages_total',
    'Incoming messages not delivered: refused by the policy, over a limit or over the size cap.',
    (s) => s.denials + s.oversizePackets + s.limitDisconnects.publish_rate + s.limitDisconnects.max_in_flight_in + s.limitDisconnects.max_in_flight_in_bytes,
  );
  return registry;
}
