import type { Logger } from 'pino';

/**
 * One named part of a running process. `start` may return the part's own `stop`, so what a part
 * holds is created and released in one place. Parts start in list order and stop in reverse.
 */
export interface Component {
  readonly name: string;
  start(): Promise<Stop | void> | Stop | void;
}
export type Stop = () => Promise<void> | void;

export interface StartedComponents {
  /** Stops every started part, last started first; a part whose stop fails is logged and the rest still stop. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `components` in order. When one fails to start, those already started are stopped (in
 * reverse) before the error goes to the caller, so a failed start leaves nothing open behind it.
 */
export async function startComponents(components: readonly Component[], logger: Logger): Promise<StartedComponents> {
  const started: { name: string; stop: Stop }[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const { name, stop } of started.reverse()) {
        try {
          await stop();
          logger.debug({ component: name }, 'stopped');
        } catch (err) {
          logger.error({ err, component: name }, 'component failed to stop');
        }
      }
    })();
    return stopping;
  };
  for (const component of components) {
    try {
      const stop = await component.start();
      started.push({ name: component.name, stop: stop ?? (() => undefined) });
      logger.debug({ component: component.name }, 'started');
    } catch (err) {
      await stopAll();
      throw err;
    }
  }
  return { stop: stopAll };
}
