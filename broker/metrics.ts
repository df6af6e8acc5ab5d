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

  new Gauge({
    name: 'brewtel_broker_connections',
    help: 'Clients connected and authenticated now.',
    registers: [registry],
    collect() {
      this.set(stats().connections);
    },
  });
  counter('brewtel_broker_messages_in_total', 'PUBLISH packets accepted from clients, wills included.', (s) => s.messagesIn);
  counter('brewtel_broker_messages_out_total', 'Deliveries to subscribers.', (s) => s.messagesOut);
  counter('brewtel_broker_denials_total', 'Publishes and subscriptions refused by the topic policy.', (s) => s.denials);
  counter('brewtel_broker_auth_failures_total', 'Connections refused for their credentials.', (s) => s.authFailures);
  counter('brewtel_broker_auth_throttled_total', 'Connections refused unchecked because their source failed authentication too often.', (s) => s.authThrottled);
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
    (s) => s.denials + s.oversizePackets + s.limitDisconnects.publish_rate + s.limitDisconnects.max_in_flight_in,
  );
  return registry;
}
