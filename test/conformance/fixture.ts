import type { TcpBroker } from '../../broker/broker.ts';
import { brokerFor, captureLogs, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { missingClients } from './third-party.ts';

/**
 * OUR broker (auth and ACL on, port 0) in front of a small real device registry over HTTP, as the
 * conformance suites drive it with third-party clients.
 */
export const DEVICES = {
  alice: { id: 'cm-conf-alice', secret: 'alice-conformance-secret' },
  bob: { id: 'cm-conf-bob', secret: 'bob-conformance-secret' },
  /** Provisioned in a region this broker does not serve: the redirect hook sends it to HOME_PLANE. */
  roamer: { id: 'cm-conf-roamer', secret: 'roamer-conformance-secret' },
} as const;

export const HOME_PLANE = 'mqtt://cn.plane.example:1883';

export { INGEST };

export interface Fixture {
  broker: TcpBroker;
  registry: DeviceRegistry;
  logs: string[];
  host: string;
  port: number;
  wsPort: number;
  close(): Promise<void>;
}

export async function startFixture(): Promise<Fixture> {
  const registry = await startDeviceRegistry({
    [DEVICES.alice.id]: { secret: DEVICES.alice.secret, region: 'eu' },
    [DEVICES.bob.id]: { secret: DEVICES.bob.secret, region: 'us' },
    [DEVICES.roamer.id]: { secret: DEVICES.roamer.secret, region: 'cn' },
  });
  const capture = captureLogs();
  const broker = await brokerFor(registry, capture.logger, {
    wsPort: 0,
    redirect: (identity) => (identity.kind === 'device' && identity.region === 'cn' ? HOME_PLANE : null),
  });
  return {
    broker,
    registry,
    logs: capture.lines,
    host: '127.0.0.1',
    port: broker.tcpPort,
    wsPort: broker.wsPort!,
    close: async () => {
      await broker.close();
      await registry.close();
    },
  };
}

/**
 * Missing third-party clients skip the suite on a laptop but fail it under CI, where .ci/run
 * installs them from .ci/debian-packages.txt.
 */
export function clientsUnavailable(): boolean {
  const missing = missingClients();
  if (missing.length === 0) return false;
  if (process.env.CI === 'true') throw new Error(`conformance needs the Debian packages: ${missing.join(', ')}`);
  return true;
}

/** mosquitto_pub/mosquitto_sub arguments for a device or the ingest account. */
export function login(
  fixture: Fixture,
  who: { id: string; secret: string } | typeof INGEST,
  clientId?: string,
  version: 'mqttv311' | 'mqttv5' = 'mqttv311',
): string[] {
  const [username, password] = 'id' in who ? [who.id, who.secret] : [who.username, who.password];
  return ['-h', fixture.host, '-p', String(fixture.port), '-V', version, '-i', clientId ?? username, '-u', username, '-P', password];
}

/** The same for MQTT 5 (`-V mqttv5`). */
export const login5 = (fixture: Fixture, who: { id: string; secret: string } | typeof INGEST, clientId?: string): string[] =>
  login(fixture, who, clientId, 'mqttv5');

export const topicOf = {
  event: (deviceId: string, kind = 'brew') => `coffee/v1/${deviceId}/evt/${kind}`,
  state: (deviceId: string) => `coffee/v1/${deviceId}/state`,
  consent: (deviceId: string) => `coffee/v1/${deviceId}/consent`,
  command: (deviceId: string, name = 'reboot') => `coffee/v1/${deviceId}/cmd/${name}`,
  commandResult: (deviceId: string, name = 'reboot') => `coffee/v1/${deviceId}/cmd-result/${name}`,
};

let counter = 0;
/** A fresh service-account client id per use, so sessions of different cases never mix. */
export const ingestClientId = (label: string): string => `svc-conf-${label}-${process.pid}-${++counter}`;
