import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';

export interface EmptyStack {
  stack: Stack;
  /** The stack's data folder, where a test may keep its own files too; removed by close(). */
  dataDir: string;
  close(): Promise<void>;
}

/** The embedded stack (broker with auth on, server, SQLite stores) without a fleet, on port 0 in a fresh folder. */
export async function startEmptyStack(prefix: string): Promise<EmptyStack> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const stack = await startStack(
    launcherConfigSchema.parse({ machines: 0, leaky: 0, httpPort: 0, mqttPort: 0, wsPort: null, dataDir, logLevel: 'silent' }),
    pino({ level: 'silent' }),
  );
  return {
    stack,
    dataDir,
    close: async () => {
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
