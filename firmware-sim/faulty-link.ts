import type { EventKind } from '../schema/events.ts';
import type { DeviceConnection } from './device-connection.ts';
import type { OutgoingEnvelope } from './envelope.ts';
import type { FaultRates, InjectedFault } from '../schema/fault-rates.ts';
import { decideFault, malform } from './fault-injection.ts';
import type { Rng } from './random.ts';

export interface FaultyLinkOptions {
  connection: DeviceConnection;
  /** Read on every event, so a harness can change the rates while the fleet runs. */
  rates: () => FaultRates;
  /** Whether any rate is above zero; without faults no random number is drawn at all. */
  active: () => boolean;
  rng: Rng;
  onInjected: (fault: InjectedFault) => void;
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
  private readonly delayed = new Set<{ timer: NodeJS.Timeout; item: Held }>();

  constructor(private readonly options: FaultyLinkOptions) {}

  publish(kind: EventKind, envelope: OutgoingEnvelope): void {
    const { connection } = this.options;
    if (!this.options.active()) {
      connection.publish(kind, envelope);
      return;
    }
    const rates = this.options.rates();
    const fault = decideFault(this.options.rng, rates);
    const payload = JSON.stringify(envelope);
    if (fault !== null) this.options.onInjected(fault);
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
        this.delayed.add(entry);
        return;
      }
      case 'disconnect':
        connection.dropLink();
        this.send(kind, payload);
        return;
      case 'malformed':
        this.send(kind, malform(this.options.rng, payload));
        return;
      case null:
        this.send(kind, payload);
    }
  }

  flush(): void {
    this.releaseHeld();
    for (const entry of [...this.delayed]) {
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
    this.delayed.delete(entry);
    this.options.connection.send(entry.item.kind, entry.item.payload);
  }
}
