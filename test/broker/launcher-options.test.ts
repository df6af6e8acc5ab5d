import { describe, expect, it } from 'vitest';
import { readLauncherConfig } from '../../launcher/flags.ts';

/** `npm start` takes the broker's own options, validated by the broker's schema and named by flag. */
describe('broker options of npm start', () => {
  it('passes TLS, metrics, cluster and every limit through to the embedded broker', () => {
    const result = readLauncherConfig(
      [
        '--tls-cert',
        'c.pem',
        '--tls-key',
        'k.pem',
        '--metrics-port',
        '0',
        '--cluster-redis',
        'redis://127.0.0.1:6379',
        '--max-packet-bytes',
        '2048',
        '--max-connections',
        '5',
        '--publish-rate',
        '50',
        '--publish-burst',
        '60',
        '--max-inflight-in',
        '7',
        '--max-inflight-out',
        '8',
      ],
      {},
    );
    expect(result).toMatchObject({
      config: {
        broker: {
          tls: { port: 8883, certFile: 'c.pem', keyFile: 'k.pem', caFile: null },
          metricsPort: 0,
          cluster: { redisUrl: 'redis://127.0.0.1:6379', keyPrefix: 'brewtel:' },
          maxPacketBytes: 2048,
          limits: { maxConnections: 5, publishPerSecond: 50, publishBurst: 60, maxInFlightIn: 7, maxInFlightOut: 8 },
        },
      },
    });
  });

  it('defaults to the broker defaults and names the flag of a bad broker option', () => {
    expect(readLauncherConfig([], {})).toMatchObject({
      config: { broker: { tls: null, metricsPort: null, cluster: null, limits: { maxConnections: 10_000 } } },
    });
    expect((readLauncherConfig(['--publish-burst', '0'], {}) as { error: string }).error.startsWith('--publish-burst')).toBe(true);
    expect((readLauncherConfig(['--tls-cert', 'c.pem'], {}) as { error: string }).error.startsWith('--tls-key')).toBe(true);
  });
});
