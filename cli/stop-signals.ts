import type { Logger } from 'pino';

/**
 * For a command that serves until told to stop (`brewtel server`, `brewtel directory`): on the first
 * SIGINT or SIGTERM it closes what runs and resolves with the exit code, 0 after a clean shutdown, 1
 * when closing failed (logged).
 */
export function closeOnStopSignal(close: () => Promise<void>, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onTerminate);
      logger.info({ signal }, 'shutting down');
      close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    const onInterrupt = (): void => stop('SIGINT');
    const onTerminate = (): void => stop('SIGTERM');
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onTerminate);
  });
}
