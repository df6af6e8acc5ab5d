import { Fifo } from './fifo.ts';

/**
 * aedes hands every publish to mqemitter, which delivers at most `concurrency` (aedes: 100) at once
 * and queues the rest. Two things there break under a fleet of 10,000 machines publishing while the
 * broker is busy, when that queue is thousands deep:
 * - it is two arrays drained with Array.shift(), O(queue length) per message: the shifts took more
 *   of the broker's CPU than the deliveries (mqemitter's `released`, the top self frame in the
 *   profile of `npm start -- --machines 10000`). Here the queue is a Fifo, O(1).
 * - a message that matches no subscriber (ingest gone at shutdown) completes synchronously, and its
 *   completion starts the next queued one on the same stack: a deep queue ended the process with
 *   "Maximum call stack size exceeded" (aedes write → publish → mqemitter, at Ctrl-C of that run).
 *   Here a delivery started while another is still on the stack goes to the next turn instead,
 *   its concurrency slot taken at once so nothing overtakes it.
 * Only an emitter built on mqemitter, its queue still empty, is changed; returns whether it was.
 */
export function steadyEmitterQueue(emitter: unknown): boolean {
  if (typeof emitter !== 'object' || emitter === null) return false;
  const queues = ['_messageQueue', '_messageCallbacks'] as const;
  const start: unknown = Reflect.get(emitter, '_do');
  if (typeof start !== 'function' || !queues.every((name) => isEmptyArray(Reflect.get(emitter, name)))) return false;
  for (const name of queues) Reflect.set(emitter, name, new Fifo<unknown>());
  let depth = 0;
  const deliver = (message: unknown, callback: unknown): unknown => {
    depth++;
    try {
      return Reflect.apply(start, emitter, [message, callback]);
    } finally {
      depth--;
    }
  };
  Reflect.set(emitter, '_do', (message: unknown, callback: unknown): unknown => {
    if (depth === 0) return deliver(message, callback);
    const current = (): number => Number(Reflect.get(emitter, 'current'));
    Reflect.set(emitter, 'current', current() + 1);
    setImmediate(() => {
      Reflect.set(emitter, 'current', current() - 1);
      deliver(message, callback);
    });
    return emitter;
  });
  return true;
}

const isEmptyArray = (value: unknown): boolean => Array.isArray(value) && value.length === 0;
