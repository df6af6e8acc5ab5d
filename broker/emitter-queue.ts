import { Fifo } from './fifo.ts';

/**
 * aedes hands every publish to mqemitter, which delivers at most `concurrency` (aedes: 100) at once
 * and queues the rest in two arrays drained with Array.shift(): O(queue length) per message once
 * the queue is long. A fleet of 10,000 machines publishing while the broker is busy keeps that
 * queue thousands deep, and the shifts then took more of the broker's CPU than the deliveries (the
 * top self frame, mqemitter's `released`, in the profile of `npm start -- --machines 10000`). The
 * same queue on Fifo keeps each message O(1). Only an emitter that has those two arrays, still
 * empty, is changed (mqemitter and what inherits from it); returns whether it was.
 */
export function queueEmitterInFifo(emitter: unknown): boolean {
  if (typeof emitter !== 'object' || emitter === null) return false;
  const queues = ['_messageQueue', '_messageCallbacks'] as const;
  const arrays = queues.map((name) => Reflect.get(emitter, name));
  if (!arrays.every((queue) => Array.isArray(queue) && queue.length === 0)) return false;
  for (const name of queues) Reflect.set(emitter, name, new Fifo<unknown>());
  return true;
}
