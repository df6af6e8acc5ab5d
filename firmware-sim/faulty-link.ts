import type { EventKind } from '../schema/events.ts';
import type { DeviceConnection } from './device-connection.ts';
import type { OutgoingEnvelope } from './envelope.ts';
import type { FaultRates, InjectedFault } from '../schema/fault-rates.ts';
import { anyFaults, decideFault, malform } from './fault-injection.ts';
import { createRng, type Rng } from './random.ts';

/** Plain values rather than callbacks: every machine has a link, and a callback is a closure per machine. */
export interface FaultyLinkOptions {
  connection: DeviceConnection;
  /** Read on every event, so a harness can change the rates while the fleet runs; all zero, no random number is drawn at all. */
  faults: { rates: FaultRates };
  /** Seed of the link's own random stream, made at the first event with faults on. */
  seed: number;
  /** Counted up by one for each fault injected. */
  injected: Record<InjectedFault, number>;
}

interface Held {
  kind: EventKind;
  payload: string;
}

/**
 * Stands between a machine and its connection and misbehaves on purpose, at the configured rates.
 * Nothing held back is ever lost: `flush()` (on halt) sends what is still delayed or held.
 */
export class FaultyLink {
  private held: Held | null = null;
  private rngMade: Rng | null = null;
  /** Made at the first delay: most machines never get a fault injected. */
  private delayed: Set<{ timer: NodeJS.Timeout; item: Held }> | null = null;

  constructor(private readonly options: FaultyLinkOptions) {}

  publish(kind: EventKind, envelope: OutgoingEnvelope): void {
    const { connection } = this.options;
    const { rates } = this.options.faults;
    if (!anyFaults(rates)) {
      connection.publish(kind, envelope);
      return;
    }
    const fault = decideFault(this.rng, rates);
    const payload = JSON.stringify(envelope);
    if (fault !== null) this.options.injected[fault]++;
    switch (fault) {
      case 'drop':
        return;
      case 'duplicate':
        this.send(kind, payload);
        this.send(kind, payload);
        return;
      case 'reorder':
        this.releaseHeld();
        this.held = { kind, payload };
        return;
      case 'delay': {
        const entry = { item: { kind, payload }, timer: setTimeout(() => this.releaseDelayed(entry), rates.delayMs) };
        this.delayed ??= new Set();
        this.delayed.add(entry);
        return;
      }
      case 'disconnect':
        connection.dropLink();
        this.send(kind, payload);
        return;
      case 'malformed':
        this.send(kind, malform(this.rng, payload));
        return;
      case null:
        this.send(kind, payload);
    }
  }

  private get rng(): Rng {
    this.rngMade ??= createRng(this.options.seed);
    return this.rngMade;
  }

  flush(): void {
    this.releaseHeld();
    for (const entry of [...(this.delayed ?? [])]) {
      clearTimeout(entry.timer);
      this.releaseDelayed(entry);
    }
  }

  /** The held event goes out right after the event that overtook it. */
  private send(kind: EventKind, payload: string): void {
    this.options.connection.send(kind, payload);
    this.releaseHeld();
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = null;
    if (held !== null) this.options.connection.send(held.kind, held.payload);
  }

  private releaseDelayed(entry: { timer: NodeJS.Timeout; item: Held }): void {
    this.delayed?.delete(entry);
    this.options.connection.send(entry.item.kind, entry.item.payload);
  }
}
