/**
 * What a long-running command started by another of ours (`brewtel start --planes` forks its planes
 * and its directory) tells its parent once it serves: its addresses, over the IPC channel node opens
 * for a forked child. Without that channel (a user's terminal) it does nothing.
 */
export interface ReadyMessage {
  type: 'brewtel-ready';
  httpUrl: string;
  mqttUrl?: string;
}

export function announceReady(message: Omit<ReadyMessage, 'type'>): void {
  process.send?.({ type: 'brewtel-ready', ...message } satisfies ReadyMessage);
}

export function isReadyMessage(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'brewtel-ready';
}
