/**
 * `npm run bench:broker`: messages per second and latency of OUR broker (device auth and ACL on)
 * against a private Mosquitto on an ephemeral port, side by side in one run. Broker, publisher and
 * subscriber each run in their own process; 200-byte messages, 100 in flight, QoS 0 and 1, one
 * publisher and 100 publishers to one subscriber, each case with MQTT 3.1.1 and MQTT 5 clients.
 * Bounded: a fixed message count per case and a deadline on every wait. Ends with
 * `qos1_eps=… mosquitto_qos1_eps=… ratio=… p99_ms=… v5_qos1_eps=… v5_mosquitto_qos1_eps=… v5_ratio=… v5_p99_ms=…`
 * (one publisher, QoS 1; the first four are MQTT 3.1.1).
 *   npm run bench:broker -- [--messages N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPrivateMosquitto } from './private-mosquitto.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '30000' } } });
const MESSAGES = Number(values.messages);
const IN_FLIGHT = 100;
const PAYLOAD_BYTES = 200;
const DEADLINE_MS = 120_000;
const here = new URL('.', import.meta.url).pathname;

interface Login {
  clientId: string;
  username: string;
  password: string;
}
interface Target {
  name: 'brewtel' | 'mosquitto';
  url: string;
  subscriber: Login;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
function run(args: string[]): { child: ChildProcess; line(match: (line: string) => boolean): Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let buffer = '';
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  return {
    child,
    line: (match) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer from ${args[0]} within ${DEADLINE_MS} ms`)), DEADLINE_MS);
        const check = (): void => {
          const found = lines.find(match);
          if (found !== undefined) {
            clearTimeout(timer);
            resolve(found);
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`${args[0]} exited with ${child.exitCode}`));
          } else waiters.push(check);
        };
        check();
        child.once('exit', check);
      }),
  };
}

// The same device ids and topics on both brokers, so both do the same routing work.
const deviceId = (i: number): string => `bench-dev-${String(i).padStart(3, '0')}`;
const publisherOf = (i: number) => ({ clientId: deviceId(i), username: deviceId(i), password: `secret-${i}`, topic: `coffee/v1/${deviceId(i)}/evt/brew` });

async function startOurs(): Promise<Target> {
  const server = run([join(here, 'broker-server.ts'), '100']);
  const url = (await server.line((l) => l.startsWith('ready '))).slice('ready '.length);
  return {
    name: 'brewtel',
    url,
    subscriber: { clientId: 'svc-bench-sub', username: 'svc-bench', password: 'bench-password-0123456789' },
    stop: () => stopChild(server.child),
  };
}

async function startMosquitto(): Promise<Target> {
  const mosquitto = await startPrivateMosquitto();
  children.add(mosquitto.child);
  mosquitto.child.once('exit', () => children.delete(mosquitto.child));
  return {
    name: 'mosquitto',
    url: mosquitto.url,
    subscriber: { clientId: 'svc-bench-sub', username: 'svc-bench', password: 'unused' },
    stop: mosquitto.stop,
  };
}

interface Result {
  received: number;
  eps: number;
  p50: number | null;
  p99: number | null;
}

async function measure(target: Target, version: 4 | 5, qos: 0 | 1, publishers: number, total: number): Promise<Result> {
  const client = join(here, 'broker-client.ts');
  const sub = run([
    client,
    JSON.stringify({
      role: 'sub',
      url: target.url,
      ...target.subscriber,
      filter: 'coffee/v1/+/evt/+',
      qos,
      expected: total,
      idleMs: 3_000,
      protocolVersion: version,
    }),
  ]);
  await sub.line((l) => l.includes('"ready"'));
  const pub = run([
    client,
    JSON.stringify({
      role: 'pub',
      url: target.url,
      publishers: Array.from({ length: publishers }, (_, i) => publisherOf(i)),
      qos,
      total,
      inFlight: IN_FLIGHT,
      payloadBytes: PAYLOAD_BYTES,
      protocolVersion: version,
    }),
  ]);
  const result = JSON.parse(await sub.line((l) => l.includes('"received"'))) as Result;
  await pub.line((l) => l.includes('"sent"')).catch(() => undefined);
  await Promise.all([stopChild(sub.child), stopChild(pub.child)]);
  return result;
}

const CASES = ([4, 5] as const).flatMap((version) =>
  (
    [
      { qos: 0, publishers: 1 },
      { qos: 1, publishers: 1 },
      { qos: 0, publishers: 100 },
      { qos: 1, publishers: 100 },
    ] as const
  ).map((c) => ({ version, ...c })),
);
const MQTT_NAME = { 4: '3.1.1', 5: '5' } as const;

const targets: Target[] = [];
try {
  targets.push(await startOurs(), await startMosquitto());
  // Warm-up (JIT, connection paths), not reported.
  for (const target of targets) for (const version of [4, 5] as const) await measure(target, version, 1, 1, Math.min(5_000, MESSAGES));

  const rows: Array<{ target: string; version: 4 | 5; qos: number; publishers: number } & Result> = [];
  console.log('broker     mqtt   qos  pubs  messages  received      msg/s   p50_ms   p99_ms');
  for (const c of CASES) {
    // Interleaved, so both brokers see the same background load of the machine.
    for (const target of targets) {
      const r = await measure(target, c.version, c.qos, c.publishers, MESSAGES);
      rows.push({ target: target.name, ...c, ...r });
      console.log(
        `${target.name.padEnd(10)} ${MQTT_NAME[c.version].padEnd(5)} ${String(c.qos).padStart(4)} ${String(c.publishers).padStart(5)} ${String(MESSAGES).padStart(9)} ${String(r.received).padStart(9)} ${fixed(r.eps, 0).padStart(10)} ${fixed(r.p50, 2).padStart(8)} ${fixed(r.p99, 2).padStart(8)}`,
      );
    }
  }
  const pick = (target: string, version: 4 | 5) => rows.find((r) => r.target === target && r.version === version && r.qos === 1 && r.publishers === 1)!;
  const summary = (version: 4 | 5, prefix: string): string => {
    const ours = pick('brewtel', version);
    const theirs = pick('mosquitto', version);
    return `${prefix}qos1_eps=${fixed(ours.eps, 0)} ${prefix}mosquitto_qos1_eps=${fixed(theirs.eps, 0)} ${prefix}ratio=${fixed(ours.eps / theirs.eps, 2)} ${prefix}p99_ms=${fixed(ours.p99, 1)}`;
  };
  console.log(`${summary(4, '')} ${summary(5, 'v5_')}`);
} finally {
  await Promise.all(targets.map((t) => t.stop()));
  await Promise.all([...children].map(stopChild));
}

/** A missing figure (nothing received) prints as `nan` rather than stopping the run. */
function fixed(n: number | null, digits: number): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : 'nan';
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
