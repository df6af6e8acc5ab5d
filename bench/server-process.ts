import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SERVER_MAIN = fileURLToPath(new URL('../server/main.ts', import.meta.url));

export interface ServerProcessOptions {
  dataDir: string;
  adminToken: string;
  brokerToken: string;
  /** Where ingest subscribes, and the service account it logs in with. */
  mqttUrl: string;
  ingest: { username: string; password: string };
}

export interface ServerProcess {
  httpUrl: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * The server (server/main.ts: HTTP API, device registry, ingest on SQLite) in a process of its own,
 * as a deployment runs it, so a benchmark can read its CPU time apart from its own.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', SERVER_MAIN, '--http-port', '0', '--data-dir', options.dataDir, '--mqtt-url', options.mqttUrl, '--log-level', 'warn'],
    {
      env: {
        ...process.env,
        BREWTEL_ADMIN_TOKEN: options.adminToken,
        BREWTEL_BROKER_TOKEN: options.brokerToken,
        BREWTEL_MQTT_USERNAME: options.ingest.username,
        BREWTEL_MQTT_PASSWORD: options.ingest.password,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const httpUrl = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${stderr}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const url = /brewtel server: (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}): ${stderr}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { httpUrl, pid: child.pid, stop };
}
