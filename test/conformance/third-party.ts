import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs MQTT clients nobody on this project wrote: mosquitto_pub / mosquitto_sub (Debian
 * mosquitto-clients) and Eclipse Paho for Python (Debian python3-paho-mqtt, through paho-client.py).
 * Every process is bounded by a kill timer and tracked so a test can stop all it started.
 */

// The system interpreter, where Debian installs paho; a pyenv python earlier on PATH would lack it.
const PYTHON = '/usr/bin/python3';
const PAHO_SCRIPT = fileURLToPath(new URL('./paho-client.py', import.meta.url));
const HARD_LIMIT_MS = 20_000;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Which third-party clients are missing on this machine (each named by its Debian package). */
export function missingClients(): string[] {
  const missing: string[] = [];
  if (spawnSync('mosquitto_pub', ['--help']).error) missing.push('mosquitto-clients');
  if (spawnSync(PYTHON, ['-c', 'import paho.mqtt.client']).status !== 0) missing.push('python3-paho-mqtt');
  return missing;
}

export interface Running {
  readonly process: ChildProcess;
  readonly stdout: () => string;
  /** Resolves once stdout holds `text`; rejects when the process ends first or the wait times out. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  finished: Promise<Finished>;
}

export function startClients(): { run(command: string, args: string[]): Running; killAll(): void } {
  const running = new Set<ChildProcess>();
  return {
    run(command, args) {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      const limit = setTimeout(() => child.kill('SIGKILL'), HARD_LIMIT_MS);
      let stdout = '';
      let stderr = '';
      const watchers = new Set<() => void>();
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        for (const watcher of watchers) watcher();
      });
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const finished = new Promise<Finished>((resolve) => {
        child.on('close', (code, signal) => {
          clearTimeout(limit);
          running.delete(child);
          for (const watcher of watchers) watcher();
          resolve({ code, signal, stdout, stderr });
        });
        child.on('error', (error) => {
          stderr += String(error);
        });
      });
      return {
        process: child,
        stdout: () => stdout,
        finished,
        waitFor(text, timeoutMs = 10_000) {
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => done(new Error(`timed out waiting for ${JSON.stringify(text)} from ${command}; got ${stdout}${stderr}`)), timeoutMs);
            const done = (error?: Error): void => {
              clearTimeout(timer);
              watchers.delete(check);
              if (error) reject(error);
              else resolve();
            };
            const check = (): void => {
              if (stdout.includes(text)) done();
              else if (child.exitCode !== null || child.signalCode !== null)
                done(new Error(`${command} ended before printing ${JSON.stringify(text)}: ${stdout}${stderr}`));
            };
            watchers.add(check);
            check();
          });
        },
      };
    },
    killAll() {
      for (const child of running) child.kill('SIGKILL');
    },
  };
}

/**
 * mosquitto_sub with its stdout line-buffered: into a pipe, stdio would hold back the `-d` debug
 * lines (e.g. "received SUBACK") a test waits for until the process ends.
 */
export function mosquittoSub(clients: ReturnType<typeof startClients>, args: string[]): Running {
  return clients.run('stdbuf', ['-oL', 'mosquitto_sub', '-d', ...args]);
}

export interface PahoSpec {
  /** 4 (MQTT 3.1.1, the default) or 5 (paho's MQTTv5, properties by their paho names). */
  version?: 4 | 5;
  /** MQTT 5 CONNECT properties, e.g. { SessionExpiryInterval: 2 }; `clean` is Clean Start then. */
  connectProperties?: Record<string, unknown>;
  subscribeProperties?: Record<string, unknown>;
  /** Leave without DISCONNECT (a crashed device), after the waits. */
  noDisconnect?: boolean;
  host: string;
  port: number;
  clientId: string;
  username?: string;
  password?: string;
  /** MQTT over WebSocket (path wsPath, default /mqtt) instead of TCP. */
  transport?: 'tcp' | 'websockets';
  wsPath?: string;
  clean?: boolean;
  keepalive?: number;
  will?: { topic: string; payload?: string; qos?: 0 | 1 | 2; retain?: boolean; properties?: Record<string, unknown> };
  subscribe?: Array<[string, 0 | 1 | 2]>;
  /** payloadBytes: a payload of that many bytes, made by the script (argv has a size limit). */
  publish?: Array<{ topic: string; payload?: string; payloadBytes?: number; qos?: 0 | 1 | 2; retain?: boolean; properties?: Record<string, unknown> }>;
  /** Messages to wait for before disconnecting. */
  expect?: number;
  /** Deadline of each wait. */
  waitMs?: number;
  /** Stay connected this long after the last wait. */
  holdMs?: number;
  /** After CONNACK send nothing at all (no PINGREQ) for waitMs. */
  silent?: boolean;
  /** Also report paho's own packet log (PINGREQ, PINGRESP, …). */
  log?: boolean;
  /** MQTT over TLS, trusting caFile; certFile/keyFile present a client certificate. */
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** Report each message's packet id and DUP flag too. */
  ids?: boolean;
  /** Exit the process inside the first message's callback, before paho can answer PUBACK. */
  abortOnMessage?: boolean;
}

export type PahoEvent =
  | { event: 'connack'; rc: number; sessionPresent: number; properties?: Record<string, unknown> }
  | { event: 'suback'; granted: number[] }
  | { event: 'published'; mid: number }
  | { event: 'message'; topic: string; payload: string; qos: number; retain: number; mid?: number; dup?: number; properties?: Record<string, unknown> }
  | { event: 'disconnected'; rc: number }
  | { event: 'log'; text: string }
  | { event: 'done'; closed: boolean };

export function paho(clients: ReturnType<typeof startClients>, spec: PahoSpec): Running {
  return clients.run(PYTHON, [PAHO_SCRIPT, JSON.stringify(spec)]);
}

export function pahoEvents(stdout: string): PahoEvent[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as PahoEvent);
}

export const messagesOf = (events: PahoEvent[]) => events.flatMap((e) => (e.event === 'message' ? [e] : []));
export const connackOf = (events: PahoEvent[]) => events.find((e) => e.event === 'connack');
export const subackOf = (events: PahoEvent[]) => events.find((e) => e.event === 'suback');
