import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one server instance. A registry per instance, never prom-client's global one,
 * so several servers (tests, replicas in one process) never share or clash on counters.
 */
export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    stored: new Counter({
      name: 'brewtel_ingest_stored_total',
      help: 'Events newly committed to a region store (duplicates by event id are not counted).',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    refused: new Counter({
      name: 'brewtel_ingest_refused_total',
      help: 'Messages refused by ingest, by region (unrouted when none) and stable reason code.',
      labelNames: ['region', 'reason'] as const,
      registers: [registry],
    }),
    handled: new Counter({
      name: 'brewtel_ingest_messages_total',
      help: 'Event messages this process finished (stored, duplicate or refused); redeliveries count again.',
      registers: [registry],
    }),
    storeRetries: new Counter({
      name: 'brewtel_ingest_store_retries_total',
      help: 'Failed store calls on the ingest path that were retried.',
      labelNames: ['target'] as const,
      registers: [registry],
    }),
    storeRejected: new Counter({
      name: 'brewtel_ingest_store_rejected_total',
      help: 'Rows a store refused for their values or a constraint (isolated by splitting the batch; their messages refused as store_rejected).',
      labelNames: ['target'] as const,
      registers: [registry],
    }),
    quarantineSuppressed: new Counter({
      name: 'brewtel_ingest_quarantine_suppressed_total',
      help: 'Refusals answered and counted but not written to the quarantine: their device was past its hourly cap.',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'brewtel_ingest_batch_seconds',
      help: 'Time to commit one ingest batch.',
      labelNames: ['region', 'target'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'brewtel_http_requests_total',
      help: 'HTTP requests by method, route template and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'brewtel_http_request_duration_seconds',
      help: 'HTTP request duration by route template.',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    httpRateLimited: new Counter({
      name: 'brewtel_http_rate_limited_total',
      help: 'HTTP requests answered 429 RATE_LIMITED, by the limit they hit (address, token, device_auth).',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    httpClientErrors: new Counter({
      name: 'brewtel_http_client_errors_total',
      help: 'Connections whose request the HTTP parser refused (header overflow, unknown method, garbage), by status answered.',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    streamsOpen: new Gauge({
      name: 'brewtel_http_streams_open',
      help: 'Live streams (GET /api/v1/stream) open now.',
      registers: [registry],
    }),
    streamsRefused: new Counter({
      name: 'brewtel_http_streams_refused_total',
      help: 'Live streams refused because a cap was reached (token: 429, total: 503).',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    brokerAuthBusy: new Counter({
      name: 'brewtel_broker_auth_busy_total',
      help: 'Device secret checks refused with 503 AUTH_BUSY: every slot busy and the queue full.',
      registers: [registry],
    }),
    revocationNotices: new Counter({
      name: 'brewtel_credential_revocation_notices_total',
      help: 'Credential revocation notices sent to the broker on erasure, by outcome (acknowledged, unacknowledged, no_broker).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    directoryRemovals: new Counter({
      name: 'brewtel_global_directory_removals_total',
      help: "Erased devices removed from the global directory's routing entries, by outcome (removed, failed).",
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    mosquittoSync: new Counter({
      name: 'brewtel_mosquitto_sync_total',
      help: "Writes of Mosquitto's password and ACL files and reload signals, by step (write, reload) and outcome (ok, failed, not_running: no pid file).",
      labelNames: ['step', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
