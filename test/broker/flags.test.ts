import { describe, expect, it } from 'vitest';
import { readBrokerConfig } from '../../broker/flags.ts';

const required = ['--device-auth-url', 'http://127.0.0.1:8080/api/v1/broker/device-auth', '--device-auth-token', 'token-0123456789abcdef'];

describe('broker flags', () => {
  it('turns flags into one validated config with defaults', () => {
    const result = readBrokerConfig([...required, '--port', '0', '--ws-port', 'off', '--service-account', 'svc-ingest:password-0123456789'], {});
    expect(result).toMatchObject({
      help: false,
      config: {
        host: '127.0.0.1',
        tcpPort: 0,
        wsPort: null,
        maxPacketBytes: 256 * 1024,
        serviceAccounts: [{ username: 'svc-ingest', password: 'password-0123456789', role: 'ingest' }],
        deviceAuth: { token: 'token-0123456789abcdef', cacheTtlMs: 300_000 },
      },
    });
  });

  it('takes secrets from the environment so they stay out of the process list', () => {
    const result = readBrokerConfig(['--device-auth-url', 'http://127.0.0.1:8080/x'], {
      BREWTEL_DEVICE_AUTH_TOKEN: 'env-token-0123456789',
      BREWTEL_SERVICE_ACCOUNTS: 'svc-a:aaaaaaaaaaaaaaaa,svc-b:bbbbbbbbbbbbbbbb',
    });
    expect(result).toMatchObject({
      config: { deviceAuth: { token: 'env-token-0123456789' }, serviceAccounts: [{ username: 'svc-a' }, { username: 'svc-b' }] },
    });
  });

  it('a plane: region and directory from flags, its token from the environment; none by default', () => {
    expect(readBrokerConfig(required, {})).toMatchObject({ config: { plane: null } });
    const result = readBrokerConfig([...required, '--plane-region', 'eu', '--directory-url', 'http://127.0.0.1:8090', '--directory-cache-ms', '0'], {
      BREWTEL_DIRECTORY_TOKEN: 'directory-token-0123456789',
    });
    expect(result).toMatchObject({
      config: {
        plane: { region: 'eu', directory: { url: 'http://127.0.0.1:8090', token: 'directory-token-0123456789', cacheTtlMs: 0, timeoutMs: 2_000 } },
      },
    });
  });

  it.each([
    [['--plane-region', 'eu'], '--directory-url'],
    [['--directory-url', 'http://127.0.0.1:8090', '--directory-token', 'directory-token-0123456789'], '--plane-region'],
    [['--plane-region', 'eu', '--directory-url', 'http://127.0.0.1:8090'], '--directory-token'],
    [['--port', 'abc'], '--port'],
    [['--ws-port', '70000'], '--ws-port'],
    [['--service-account', 'svc-x:short'], '--service-account'],
    [['--service-account', 'ingest:password-0123456789'], '--service-account'],
    [['--log-level', 'loud'], '--log-level'],
  ])('names the flag of a bad value: %j', (flags, flag) => {
    const result = readBrokerConfig([...required, ...flags], {});
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error.startsWith(flag)).toBe(true);
  });

  it('switches TLS and metrics on by flag, off by default', () => {
    expect(readBrokerConfig(required, {})).toMatchObject({ config: { tls: null, metricsPort: null } });
    const result = readBrokerConfig([...required, '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem', '--metrics-port', '0'], {});
    expect(result).toMatchObject({ config: { tls: { port: 8883, certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem' }, metricsPort: 0 } });
    expect((readBrokerConfig([...required, '--tls-cert', 'c.pem'], {}) as { error: string }).error.startsWith('--tls-key')).toBe(true);
  });

  it('joins a cluster by flag (prefix defaults to brewtel:), alone by default', () => {
    expect(readBrokerConfig(required, {})).toMatchObject({ config: { cluster: null } });
    expect(readBrokerConfig([...required, '--cluster-redis', 'redis://127.0.0.1:6379'], {})).toMatchObject({
      config: { cluster: { redisUrl: 'redis://127.0.0.1:6379', keyPrefix: 'brewtel:' } },
    });
    expect(readBrokerConfig([...required, '--cluster-redis', 'redis://r:6379', '--cluster-prefix', 'site-a:'], {})).toMatchObject({
      config: { cluster: { keyPrefix: 'site-a:' } },
    });
    expect((readBrokerConfig([...required, '--cluster-redis', 'http://nope'], {}) as { error: string }).error.startsWith('--cluster-redis')).toBe(true);
  });

  it('switches each listener off by flag, but never all of them', () => {
    expect(readBrokerConfig([...required, '--port', 'off', '--ws-port', '0'], {})).toMatchObject({ config: { tcpPort: null, wsPort: 0 } });
    const tlsOnly = readBrokerConfig([...required, '--port', 'off', '--ws-port', 'off', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-port', '0'], {});
    expect(tlsOnly).toMatchObject({ config: { tcpPort: null, wsPort: null, tls: { port: 0 } } });
    expect(readBrokerConfig([...required, '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-port', 'off'], {})).toMatchObject({ config: { tls: null } });
    expect((readBrokerConfig([...required, '--port', 'off', '--ws-port', 'off'], {}) as { error: string }).error).toMatch(
      /^--port: every MQTT listener is off/,
    );
  });

  it('sets every limit by flag and names the flag of a bad one', () => {
    const result = readBrokerConfig(
      [
        ...required,
        '--max-packet-bytes',
        '4096',
        '--max-connections',
        '7',
        '--publish-rate',
        '2.5',
        '--publish-burst',
        '9',
        '--max-inflight-in',
        '11',
        '--max-inflight-out',
        '13',
      ],
      {},
    );
    expect(result).toMatchObject({
      config: { maxPacketBytes: 4096, limits: { maxConnections: 7, publishPerSecond: 2.5, publishBurst: 9, maxInFlightIn: 11, maxInFlightOut: 13 } },
    });
    expect(readBrokerConfig(required, {})).toMatchObject({
      config: { limits: { maxConnections: 10_000, publishPerSecond: 200, publishBurst: 2_000, maxInFlightIn: 1_000, maxInFlightOut: 65_535 } },
    });
    for (const flag of ['--max-connections', '--publish-rate', '--publish-burst', '--max-inflight-in', '--max-inflight-out']) {
      expect((readBrokerConfig([...required, flag, '0'], {}) as { error: string }).error.startsWith(flag)).toBe(true);
    }
    expect((readBrokerConfig([...required, '--max-inflight-out', '70000'], {}) as { error: string }).error.startsWith('--max-inflight-out')).toBe(true);
    expect(readBrokerConfig([...required, '--auth-slow-after', '3', '--auth-refuse-after', '9', '--auth-refuse-ms', '1000'], {})).toMatchObject({
      config: { authThrottle: { slowAfter: 3, refuseAfter: 9, refuseMs: 1000, delayMs: 250 } },
    });
    expect((readBrokerConfig([...required, '--auth-refuse-after', '0'], {}) as { error: string }).error.startsWith('--auth-refuse-after')).toBe(true);
  });

  it('sets the login-flood limits, the QoS 2 byte cap and the certificate check URL by flag, with defaults', () => {
    expect(readBrokerConfig(required, {})).toMatchObject({
      config: {
        limits: { maxInFlightInBytes: 1_048_576 },
        authThrottle: { addressSlowAfter: 50, addressRefuseAfter: 200 },
        authChecks: { maxConcurrent: 32, maxQueued: 10_000, batchMax: 200, negativeCacheMs: 5_000, negativeCacheMax: 10_000, verifiedCacheMax: 100_000 },
      },
    });
    const result = readBrokerConfig(
      [
        ...required,
        '--max-inflight-in-bytes',
        '300000',
        '--auth-address-slow-after',
        '7',
        '--auth-address-refuse-after',
        '8',
        '--auth-max-concurrent',
        '3',
        '--auth-max-queued',
        '4',
        '--auth-batch-max',
        '5',
        '--auth-negative-cache-ms',
        '500',
        '--auth-negative-cache-max',
        '6',
        '--auth-cache-max',
        '9',
        '--device-certificate-url',
        'http://127.0.0.1:8080/api/v1/broker/device-certificate',
      ],
      {},
    );
    expect(result).toMatchObject({
      config: {
        limits: { maxInFlightInBytes: 300_000 },
        authThrottle: { addressSlowAfter: 7, addressRefuseAfter: 8 },
        authChecks: { maxConcurrent: 3, maxQueued: 4, batchMax: 5, negativeCacheMs: 500, negativeCacheMax: 6, verifiedCacheMax: 9 },
        deviceAuth: { certificateUrl: 'http://127.0.0.1:8080/api/v1/broker/device-certificate' },
      },
    });
    for (const flag of [
      '--auth-address-slow-after',
      '--auth-address-refuse-after',
      '--auth-max-concurrent',
      '--auth-negative-cache-max',
      '--auth-cache-max',
      '--max-inflight-in-bytes',
    ]) {
      expect((readBrokerConfig([...required, flag, '0'], {}) as { error: string }).error.startsWith(flag)).toBe(true);
    }
    expect((readBrokerConfig([...required, '--max-inflight-in-bytes', '4096'], {}) as { error: string }).error).toMatch(
      /^--max-inflight-in-bytes: must be at least --max-packet-bytes/,
    );
    expect(
      (readBrokerConfig([...required, '--device-certificate-url', 'not a url'], {}) as { error: string }).error.startsWith('--device-certificate-url'),
    ).toBe(true);
  });

  it('refuses unknown flags and answers --help', () => {
    expect(readBrokerConfig(['--nope'], {})).toHaveProperty('error');
    expect(readBrokerConfig(['-h'], {})).toEqual({ help: true });
  });
});
