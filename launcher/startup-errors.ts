import type { LauncherConfig } from './config.ts';

/**
 * Turns a failure to start into one line a user can act on. A port in use names the flag that moves
 * it; anything unexpected is reported by message (the stack trace goes to the debug log only).
 */
export function describeStartupError(error: unknown, config: LauncherConfig): string {
  const err = error as { code?: string; port?: number; listener?: string; message?: string };
  if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
    const flag = flagForListener(err.listener, err.port, config);
    const why = err.code === 'EADDRINUSE' ? 'is already in use' : 'may not be opened by this user';
    return `error: port ${err.port ?? '?'} ${why}; choose another with ${flag} (0 picks a free port)`;
  }
  return `error: could not start: ${err.message ?? String(error)}`;
}

function flagForListener(listener: string | undefined, port: number | undefined, config: LauncherConfig): string {
  if (listener === 'http') return '--http-port';
  if (listener === 'ws') return '--ws-port';
  if (listener === 'tcp' || listener === 'mqtt') return '--mqtt-port';
  if (port === config.httpPort) return '--http-port';
  if (port === config.wsPort) return '--ws-port';
  return '--mqtt-port';
}
