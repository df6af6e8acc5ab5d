import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTcp, startBroker, type TcpBroker } from '../../broker/broker.ts';
import { freePort } from '../../launcher/planes.ts';
import { deviceHomeSchema, directoryProvisionResponseSchema } from '../../schema/directory.ts';
import type { RunningDirectory } from '../../server/directory/directory.ts';
import type { RunningServer } from '../../server/server.ts';
import { call, DIRECTORY_ADMIN, LOOKUP, planeOperator, removeDir, startPlane, startTestDirectory, tempDir } from '../directory/planes.ts';
import { issueDeviceCertificate, makeDevCa, opensslPresent } from '../support/device-certificates.ts';
import { captureLogs, INGEST, rawClient, type RawClient } from './support.ts';

if (!opensslPresent && process.env.CI === 'true') throw new Error('openssl is missing (.ci/debian-packages.txt lists it)');

/**
 * Client-certificate devices at the wrong plane, over real TLS: two real plane servers (eu, us), each
 * with our broker in front (plain and TLS listeners, client certificates from one device CA), and
 * the real directory, through which the devices were provisioned. The directory knows eu's TLS
 * listener (`mqttsUrl`) and, for us, only a plain MQTT URL.
 */
describe.skipIf(!opensslPresent)('a plane broker sends client-certificate devices of another plane home', () => {
  let dir: string;
  let servers: RunningServer[] = [];
  let eu: TcpBroker;
  let us: TcpBroker;
  let directory: RunningDirectory;
  const ids: Record<'euV5' | 'euV311' | 'euOtherCa' | 'usDevice', string> = { euV5: '', euV311: '', euOtherCa: '', usDevice: '' };
  const usLogs = captureLogs();
  const raws: RawClient[] = [];
  const pem = (file: string): Buffer => readFileSync(join(dir, file));

  const broker = async (region: string, server: RunningServer, directoryUrl: string, logger = captureLogs().logger): Promise<TcpBroker> =>
    requireTcp(
      await startBroker(
        {
          host: '127.0.0.1',
          tcpPort: 0,
          wsPort: null,
          serviceAccounts: [INGEST],
          deviceAuth: { url: `${server.httpUrl}/api/v1/broker/device-auth`, token: `plane-${region}-broker-token-0123456789`, timeoutMs: 2_000 },
          tls: { port: 0, certFile: join(dir, 'ca/server.crt'), keyFile: join(dir, 'ca/server.key'), caFile: join(dir, 'ca/ca.crt') },
          plane: { region, directory: { url: directoryUrl, token: LOOKUP, timeoutMs: 2_000 } },
        },
        logger,
      ),
    );

  beforeAll(async () => {
    dir = await tempDir('plane-certs');
    makeDevCa(join(dir, 'ca'));
    makeDevCa(join(dir, 'other'));
    const [euServer, usServer] = await Promise.all(['eu', 'us'].map((region) => startPlane(region, join(dir, region))));
    servers = [euServer!, usServer!];
    // The brokers need the directory's address and the directory theirs: the directory's port comes first.
    const directoryPort = await freePort('127.0.0.1');
    const directoryUrl = `http://127.0.0.1:${directoryPort}`;
    eu = await broker('eu', euServer!, directoryUrl);
    us = await broker('us', usServer!, directoryUrl, usLogs.logger);
    mkdirSync(join(dir, 'directory'));
    directory = await startTestDirectory(
      join(dir, 'directory'),
      [
        { region: 'eu', mqttUrl: eu.mqttUrl, mqttsUrl: eu.mqttsUrl!, apiUrl: euServer!.httpUrl, token: planeOperator('eu') },
        { region: 'us', mqttUrl: us.mqttUrl, apiUrl: usServer!.httpUrl, token: planeOperator('us') },
      ],
      { http: { port: directoryPort } },
    );
    expect(directory.url).toBe(directoryUrl);
    const provision = async (region: string): Promise<string> => {
      const answer = await call(directory.url, 'POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region });
      expect(answer.status).toBe(201);
      const device = directoryProvisionResponseSchema.parse(answer.json);
      // Provisioning hands a certificate device its home plane's TLS listener, where the directory knows one.
      expect(device.mqttsUrl).toBe(region === 'eu' ? eu.mqttsUrl : undefined);
      return device.id;
    };
    ids.euV5 = await provision('eu');
    ids.euV311 = await provision('eu');
    ids.euOtherCa = await provision('eu');
    ids.usDevice = await provision('us');
    for (const id of [ids.euV5, ids.euV311, ids.usDevice]) issueDeviceCertificate(join(dir, 'ca'), id);
    // A CA neither plane trusts: its certificate names no device to them.
    issueDeviceCertificate(join(dir, 'other'), ids.euOtherCa);
  }, 60_000);
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
  });
  afterAll(async () => {
    await us?.close();
    await eu?.close();
    await directory?.close();
    await Promise.all(servers.map((server) => server.close()));
    await removeDir(dir);
  });

  /**
   * A certificate login (no username, no password) over TLS. No PUBLISH is pipelined behind the
   * CONNECT here (test/broker/planes.test.ts does that over TCP): aedes destroys a refused
   * connection with such bytes unread, and over TLS the CONNACK is then sometimes lost to the reset.
   */
  const certificateLogin = (port: number, deviceId: string, version: 4 | 5, ca = 'ca'): RawClient => {
    const raw = rawClient(port, {
      clientId: deviceId,
      version,
      tls: { ca: pem('ca/ca.crt'), cert: pem(`${ca}/${deviceId}.crt`), key: pem(`${ca}/${deviceId}.key`) },
    });
    raws.push(raw);
    return raw;
  };
  const portOf = (url: string): number => Number(new URL(url).port);

  it('MQTT 5: CONNACK 0x9C with the home plane TLS listener as Server Reference, not let in; home lets it in', async () => {
    const before = us.stats();
    const raw = certificateLogin(portOf(us.mqttsUrl!), ids.euV5, 5);
    const connack = await raw.connack;
    expect(connack.reasonCode).toBe(0x9c);
    expect(connack.properties?.serverReference).toBe(eu.mqttsUrl);
    await raw.closed;
    expect(raw.packets.map((p) => p.cmd)).toEqual(['connack']);
    const after = us.stats();
    expect(after.misdirected - before.misdirected).toBe(1);
    expect(after.messagesIn).toBe(before.messagesIn);
    expect(after.authFailures).toBe(before.authFailures);
    // Following the reference with the same certificate: the home plane's registry knows the device.
    const home = certificateLogin(portOf(connack.properties!.serverReference!), ids.euV5, 5);
    expect((await home.connack).reasonCode).toBe(0);
  });

  it('MQTT 3.1.1: CONNACK 3; the directory then names the home TLS listener, where the certificate logs it in', async () => {
    const before = us.stats().misdirected;
    const raw = certificateLogin(portOf(us.mqttsUrl!), ids.euV311, 4);
    expect((await raw.connack).returnCode).toBe(3);
    await raw.closed;
    expect(raw.packets.map((p) => p.cmd)).toEqual(['connack']);
    expect(us.stats().misdirected - before).toBe(1);
    const line = usLogs.lines.find((l) => l.includes('sent home') && l.includes(ids.euV311));
    expect(line).toContain('"homeRegion":"eu"');
    const home = deviceHomeSchema.parse((await call(directory.url, 'GET', `/api/v1/directory/devices/${ids.euV311}`, LOOKUP)).json);
    expect(home).toMatchObject({ region: 'eu', mqttUrl: eu.mqttUrl, mqttsUrl: eu.mqttsUrl });
    const again = certificateLogin(portOf(home.mqttsUrl!), ids.euV311, 4);
    expect((await again.connack).returnCode).toBe(0);
  });

  it('a certificate from a CA the plane does not trust names no device: refused without credentials, the directory not asked', async () => {
    const before = us.stats();
    const raw = certificateLogin(portOf(us.mqttsUrl!), ids.euOtherCa, 5, 'other');
    expect((await raw.connack).reasonCode).toBe(0x87);
    expect(raw.packets.find((p) => p.cmd === 'connack')).not.toHaveProperty('properties.serverReference');
    const after = us.stats();
    expect(after.misdirected).toBe(before.misdirected);
    expect(after.directoryLookups).toBe(before.directoryLookups);
  });

  it('a home plane the directory names no TLS listener for: the usual certificate refusal, never a plain-MQTT reference', async () => {
    const before = eu.stats();
    const v5 = certificateLogin(portOf(eu.mqttsUrl!), ids.usDevice, 5);
    const connack = await v5.connack;
    expect(connack.reasonCode).toBe(0x87);
    expect(connack.properties?.serverReference).toBeUndefined();
    const v311 = certificateLogin(portOf(eu.mqttsUrl!), ids.usDevice, 4);
    expect((await v311.connack).returnCode).toBe(5);
    const after = eu.stats();
    expect(after.misdirected).toBe(before.misdirected);
    expect(after.directoryLookups - before.directoryLookups).toBe(1);
    // At its home plane the same certificate logs in.
    const home = certificateLogin(portOf(us.mqttsUrl!), ids.usDevice, 5);
    expect((await home.connack).reasonCode).toBe(0);
  });
});
