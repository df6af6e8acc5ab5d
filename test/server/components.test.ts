import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startComponents, type Component } from '../../server/components.ts';

const logger = pino({ level: 'silent' });

/** Components that write what they do into `log`; `failing` names one whose start throws. */
function parts(log: string[], names: readonly string[], failing?: string, failingStop?: string): Component[] {
  return names.map((name) => ({
    name,
    async start() {
      if (name === failing) throw new Error(`${name} cannot start`);
      log.push(`start ${name}`);
      return async () => {
        log.push(`stop ${name}`);
        if (name === failingStop) throw new Error(`${name} cannot stop`);
      };
    },
  }));
}

describe('startComponents', () => {
  it('starts in list order and stops in reverse, once however often it is asked', async () => {
    const log: string[] = [];
    const started = await startComponents(parts(log, ['stores', 'http', 'ingest']), logger);
    await Promise.all([started.stop(), started.stop()]);
    expect(log).toEqual(['start stores', 'start http', 'start ingest', 'stop ingest', 'stop http', 'stop stores']);
  });

  it('stops what had started, in reverse, when a later component fails to start, and rejects with its error', async () => {
    const log: string[] = [];
    await expect(startComponents(parts(log, ['stores', 'privacy', 'http', 'ingest'], 'http'), logger)).rejects.toThrow('http cannot start');
    expect(log).toEqual(['start stores', 'start privacy', 'stop privacy', 'stop stores']);
  });

  it('still stops the rest when one stop fails', async () => {
    const log: string[] = [];
    const started = await startComponents(parts(log, ['stores', 'http', 'ingest'], undefined, 'http'), logger);
    await started.stop();
    expect(log.slice(3)).toEqual(['stop ingest', 'stop http', 'stop stores']);
  });

  it('accepts a component with nothing to stop', async () => {
    const log: string[] = [];
    const started = await startComponents([{ name: 'metrics', start: () => undefined }, ...parts(log, ['stores'])], logger);
    await started.stop();
    expect(log).toEqual(['start stores', 'stop stores']);
  });
});
