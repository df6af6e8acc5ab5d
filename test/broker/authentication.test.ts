import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { brokerFor, captureLogs, clientPool, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };

describe('broker authentication (real sockets, real registry over HTTP)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' }, [BOB.id]: { secret: BOB.secret, region: 'us' } });
    broker = await brokerFor(registry, logs.logger);
  });

  afterEach(async () => {
    registry.failWith = null;
    await pool.endAll();
  });

  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const device = (username: string, password: string | undefined, clientId = username) =>
    pool.open(broker.mqttUrl, { clientId, username, ...(password === undefined ? {} : { password }) });

  it('accepts a device with its own id and the right secret', async () => {
    expect(await pool.connack(device(ALICE.id, ALICE.secret))).toBe(0);
  });

  it('refuses a wrong secret with CONNACK 4', async () => {
    expect(await pool.connack(device(BOB.id, 'not-the-secret'))).toBe(4);
  });

  it('refuses an unknown device with CONNACK 4', async () => {
    expect(await pool.connack(device('cm-nobody0000', 'whatever'))).toBe(4);
  });

  it('refuses a device using another id as client id, without asking the registry', async () => {
    const before = registry.requests;
    expect(await pool.connack(device(ALICE.id, ALICE.secret, BOB.id))).toBe(2);
    expect(registry.requests).toBe(before);
  });

  it('refuses a connection without credentials', async () => {
    expect(await pool.connack(pool.open(broker.mqttUrl, { clientId: ALICE.id }))).toBe(5);
    expect(await pool.connack(device(ALICE.id, undefined))).toBe(5);
  });

  it('refuses a username that is no device id with CONNACK 4', async () => {
    expect(await pool.connack(device('Not A Device', 'x'))).toBe(4);
  });

  it('accepts a service account with its password and refuses a wrong or unknown one', async () => {
    expect(await pool.connack(pool.open(broker.mqttUrl, { clientId: 'svc-ingest', username: INGEST.username, password: INGEST.password }))).toBe(0);
    expect(await pool.connack(pool.open(broker.mqttUrl, { clientId: 'x1', username: INGEST.username, password: 'wrong-password-0123456789' }))).toBe(4);
    expect(await pool.connack(pool.open(broker.mqttUrl, { clientId: 'x2', username: 'svc-other', password: INGEST.password }))).toBe(4);
    // A service session outside the svc- namespace could be taken over by a device of that id.
    expect(await pool.connack(pool.open(broker.mqttUrl, { clientId: 'cm-abcdefghijklmnop', username: INGEST.username, password: INGEST.password }))).toBe(2);
  });

  it('never sends an svc- username to the device registry', async () => {
    const before = registry.requests;
    expect(await pool.connack(device('svc-fake', 'guess'))).toBe(4);
    expect(registry.requests).toBe(before);
  });

  it('answers CONNACK 3 when the registry fails', async () => {
    registry.failWith = 500;
    expect(await pool.connack(device(BOB.id, 'a-secret-the-cache-never-saw'))).toBe(3);
  });

  it('answers CONNACK 3 when the registry cannot be reached', async () => {
    const closedRegistry = await startDeviceRegistry({});
    await closedRegistry.close();
    const lonely = await brokerFor(closedRegistry, logs.logger);
    try {
      const client = pool.open(lonely.mqttUrl, { clientId: ALICE.id, username: ALICE.id, password: ALICE.secret });
      expect(await pool.connack(client)).toBe(3);
    } finally {
      await pool.endAll();
      await lonely.close();
    }
  });

  it('remembers a verified secret, and only that secret', async () => {
    expect(await pool.connack(device(BOB.id, BOB.secret))).toBe(0);
    await pool.endAll();
    const before = registry.requests;
    registry.failWith = 500;
    // The registry is down now, yet the verified pair still gets in; a different secret does not.
    expect(await pool.connack(device(BOB.id, BOB.secret))).toBe(0);
    expect(registry.requests).toBe(before);
    expect(await pool.connack(device(BOB.id, 'another-secret'))).toBe(3);
  });

  it('counts every failure and never logs a password', () => {
    expect(broker.stats().authFailures).toBeGreaterThanOrEqual(9);
    const text = logs.lines.join('\n');
    expect(text).toContain('connection refused');
    for (const secret of [ALICE.secret, BOB.secret, 'not-the-secret', INGEST.password, 'wrong-password-0123456789', 'another-secret', registry.token]) {
      expect(text).not.toContain(secret);
    }
  });
});
