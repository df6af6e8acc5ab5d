import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker } from '../../broker/broker.ts';
import { readBrokerConfig } from '../../broker/flags.ts';
import { PERMISSIVE_BANNER } from '../../broker/permissive-test-mode.ts';
import { waitUntil } from '../support/wait.ts';
import { captureLogs, clientPool } from './support.ts';

const MAIN = fileURLToPath(new URL('../../broker/main.ts', import.meta.url));

function runMain(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, BREWTEL_DEVICE_AUTH_TOKEN: '', BREWTEL_SERVICE_ACCOUNTS: '' },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return { child, stderr: () => stderr, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** broker/main.ts --unsafe-permissive-test-mode: open to anyone, loudly, and on loopback only. */
describe('broker: the unsafe permissive test mode', () => {
  const pool = clientPool();
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await pool.endAll();
    for (const child of children) child.kill('SIGKILL');
  });

  it('says so on stderr and lets anonymous 3.1.1 and 5 clients use any topic (but no $ topic)', async () => {
    const main = runMain(['--unsafe-permissive-test-mode', '--port', '0', '--ws-port', 'off', '--log-level', 'silent']);
    children.push(main.child);
    await waitUntil('the broker URL', () => /brewtel broker: mqtt:\/\/127\.0\.0\.1:\d+/.test(main.stderr()), 20_000);
    expect(main.stderr()).toContain(PERMISSIVE_BANNER);
    const url = /brewtel broker: (mqtt:\/\/127\.0\.0\.1:\d+)/.exec(main.stderr())![1]!;
    const listener = pool.open(url, { protocolVersion: 5, clientId: '' });
    expect(await pool.connack(listener)).toBe(0);
    const heard: string[] = [];
    listener.on('message', (topic, payload) => heard.push(`${topic} ${payload.toString()}`));
    await listener.subscribeAsync('TopicA/#', { qos: 2 });
    const old = pool.open(url, { protocolVersion: 4, clientId: 'anonymous-311' });
    expect(await pool.connack(old)).toBe(0);
    await old.publishAsync('TopicA/B', 'from-3.1.1', { qos: 1, retain: true });
    await waitUntil('delivery', () => heard.includes('TopicA/B from-3.1.1'));
    const refused = await listener.publishAsync('$SYS/anything', 'x', { qos: 1 }).then(
      () => null,
      (e: unknown) => e as { code?: number },
    );
    expect(refused?.code).toBe(0x87);
  });

  it('refuses to start on an address that is not loopback', async () => {
    const main = runMain(['--unsafe-permissive-test-mode', '--host', '0.0.0.0', '--port', '0', '--ws-port', 'off']);
    children.push(main.child);
    expect(await main.exited).toBe(1);
    expect(main.stderr()).toMatch(/loopback only/);
    expect(main.stderr()).not.toContain('brewtel broker: mqtt://');
    await expect(startBroker({ host: '10.0.0.1', tcpPort: 0, wsPort: null, unsafePermissiveTestMode: true }, captureLogs().logger)).rejects.toThrow(
      /loopback only/,
    );
    await expect(startBroker({ host: '::ffff:10.0.0.1', tcpPort: 0, wsPort: null, unsafePermissiveTestMode: true }, captureLogs().logger)).rejects.toThrow(
      /loopback only/,
    );
  });

  it('is off unless asked for: without it a device check is required', () => {
    expect(readBrokerConfig(['--port', '0'], {})).toMatchObject({ error: expect.stringMatching(/^--device-auth-url: /) });
    const permissive = readBrokerConfig(['--unsafe-permissive-test-mode'], {});
    expect(permissive).toMatchObject({ config: { unsafePermissiveTestMode: true, deviceAuth: null, host: '127.0.0.1' } });
  });
});
