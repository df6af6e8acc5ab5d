import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryProvisionResponseSchema } from '../../schema/directory.ts';
import { readDirectoryConfig } from '../../server/directory/flags.ts';
import type { RunningServer } from '../../server/server.ts';
import { startChildCli } from '../support/child-cli.ts';
import { call, planeOperator, removeDir, startPlane, tempDir } from './planes.ts';

const ADMIN = 'cli-directory-admin-token-0123456789';
const LOOKUP_TOKEN = 'cli-directory-lookup-token-0123456789';

describe('brewtel directory flags', () => {
  const env = { BREWTEL_DIRECTORY_ADMIN_TOKEN: ADMIN, BREWTEL_DIRECTORY_LOOKUP_TOKEN: LOOKUP_TOKEN, BREWTEL_PLANE_TOKEN_EU: planeOperator('eu') };

  it('reads planes from --plane and their tokens from the environment only', () => {
    const result = readDirectoryConfig(['--plane', 'eu=mqtt://eu.example:1883,http://eu.example:8080', '--http-port', '0'], env);
    if (!('config' in result)) throw new Error(JSON.stringify(result));
    expect(result.config.generated).toEqual([]);
    expect(result.config.config).toMatchObject({
      planes: [{ region: 'eu', mqttUrl: 'mqtt://eu.example:1883', apiUrl: 'http://eu.example:8080', token: planeOperator('eu') }],
      adminToken: ADMIN,
      lookupToken: LOOKUP_TOKEN,
      http: { host: '127.0.0.1', port: 0 },
      dataDir: 'data',
    });
  });

  it('generates the admin and lookup tokens when unset, and names what is wrong', () => {
    const result = readDirectoryConfig(['--plane', 'eu=mqtt://h:1883,http://h:8080'], { BREWTEL_PLANE_TOKEN_EU: planeOperator('eu') });
    if (!('config' in result)) throw new Error(JSON.stringify(result));
    expect(result.config.generated.map((line) => line.split('=')[0])).toEqual(['BREWTEL_DIRECTORY_ADMIN_TOKEN', 'BREWTEL_DIRECTORY_LOOKUP_TOKEN']);
    expect(readDirectoryConfig(['--plane', 'eu=mqtt://h:1883,http://h:8080'], {})).toEqual({
      help: false,
      error: 'the plane of region eu needs its token in BREWTEL_PLANE_TOKEN_EU',
    });
    expect(readDirectoryConfig(['--plane', 'eu=mqtt://h:1883'], env)).toEqual({ help: false, error: '--plane expects REGION=MQTT_URL,API_URL[,MQTTS_URL]' });
    // The third URL is the plane's TLS listener, where certificate devices are sent.
    expect(readDirectoryConfig(['--plane', 'eu=mqtt://h:1883,http://h:8080,mqtts://h:8883'], env)).toMatchObject({
      config: { config: { planes: [{ region: 'eu', mqttUrl: 'mqtt://h:1883', mqttsUrl: 'mqtts://h:8883' }] } },
    });
    // Certificate devices are sent there, so it must be MQTT over TLS.
    expect(readDirectoryConfig(['--plane', 'eu=mqtt://h:1883,http://h:8080,mqtt://h:1884'], env)).toMatchObject({ error: expect.stringContaining('mqttsUrl') });
    expect(readDirectoryConfig([], env)).toMatchObject({ help: false, error: expect.stringContaining('planes') });
    expect(readDirectoryConfig(['--bogus'], env)).toMatchObject({ help: false, error: expect.stringContaining('bogus') });
    expect(readDirectoryConfig(['--help'], env)).toEqual({ help: true });
  });

  it('reads a JSON config file; flags and the environment override it', async () => {
    const dir = await tempDir('directory-config');
    try {
      const file = join(dir, 'directory.json');
      const planes = [
        { region: 'eu', mqttUrl: 'mqtt://eu.example:1883', apiUrl: 'http://eu.example:8080', token: planeOperator('eu') },
        { region: 'us', mqttUrl: 'mqtt://us.example:1883', apiUrl: 'http://us.example:8080', token: planeOperator('us') },
      ];
      writeFileSync(file, JSON.stringify({ planes, http: { port: 9999 }, dataDir: dir }));
      const result = readDirectoryConfig(['--config', file, '--http-port', '0', '--plane', 'us=mqtt://us2.example:1883,http://us2.example:8080'], {
        BREWTEL_DIRECTORY_ADMIN_TOKEN: ADMIN,
        BREWTEL_DIRECTORY_LOOKUP_TOKEN: LOOKUP_TOKEN,
      });
      if (!('config' in result)) throw new Error(JSON.stringify(result));
      expect(result.config.config.http.port).toBe(0);
      expect(result.config.config.dataDir).toBe(dir);
      expect(result.config.config.planes).toEqual([planes[0], { ...planes[1], mqttUrl: 'mqtt://us2.example:1883', apiUrl: 'http://us2.example:8080' }]);
    } finally {
      await removeDir(dir);
    }
  });
});

describe('brewtel directory, as a process', () => {
  let root: string;
  let eu: RunningServer;

  beforeAll(async () => {
    root = await tempDir('directory-cli');
    eu = await startPlane('eu', join(root, 'eu'));
  });
  afterAll(async () => {
    await eu?.close();
    await removeDir(root);
  });

  it('starts, prints generated tokens once, provisions through the plane and stops on SIGTERM with 0', async () => {
    const child = startChildCli(
      'launcher/cli.ts',
      ['directory', '--plane', `eu=mqtt://127.0.0.1:1883,${eu.httpUrl}`, '--http-port', '0', '--data-dir', join(root, 'directory'), '--log-level', 'debug'],
      { BREWTEL_PLANE_TOKEN_EU: planeOperator('eu') },
    );
    try {
      await child.waitFor(/brewtel directory: http:\/\/\S+/);
      const url = /brewtel directory: (http:\/\/[^\s,]+)/.exec(child.stdout())![1]!;
      const admin = /BREWTEL_DIRECTORY_ADMIN_TOKEN=(\S+)/.exec(child.stdout())![1]!;
      expect(child.stdout()).toMatch(/generated BREWTEL_DIRECTORY_LOOKUP_TOKEN=/);
      const answer = await call(url, 'POST', '/api/v1/directory/devices', admin, { region: 'eu' });
      expect(answer.status).toBe(201);
      const device = directoryProvisionResponseSchema.parse(answer.json);
      expect(device.apiUrl).toBe(eu.httpUrl);
      // The secret went to the caller only, never into the directory's logs (at debug level, too).
      expect(child.stderr()).not.toContain(device.secret);
      expect(child.stdout()).not.toContain(device.secret);
      child.signal('SIGTERM');
      expect(await child.exited()).toBe(0);
    } finally {
      child.kill();
    }
  });
});
