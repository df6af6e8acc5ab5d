import type { WireTally } from '../mqtt-wire/client-options.ts';
import { EVENT_KINDS, type EventKind } from '../schema/events.ts';
import { COMMAND_OUTCOMES, type CommandOutcome } from './command-handler.ts';
import { INJECTED_FAULTS, type InjectedFault } from '../schema/fault-rates.ts';

export interface FleetStats {
  machines: number;
  connected: number;
  /** performance.now() when every machine was connected at once for the first time; null until then. */
  allConnectedAt: number | null;
  /** Events whose PUBACK arrived. */
  published: number;
  publishedByKind: Record<EventKind, number>;
  /** Events the edge consent check kept on the device. */
  suppressed: number;
  /** Publishes that ended in an error. */
  failed: number;
  /** Publishes still waiting for their PUBACK. */
  pending: number;
  /** Commands received on `cmd/` topics. */
  commands: number;
  /** What became of them: applied, or refused with a stable code. */
  commandOutcomes: Record<CommandOutcome, number>;
  /** Results published on `cmd-result/{name}` (every command with a readable id gets one). */
  commandReplies: number;
  /** Events waiting in offline buffers, for a connection or for room in the in-flight window. */
  buffered: number;
  /** Bytes those events take, encoded as they wait (see offline-buffer.ts). */
  bufferedBytes: number;
  /** Events an offline buffer dropped (oldest first) because it was full, or because the fleet's backlog was. */
  dropped: number;
  /** Of those, dropped because all buffers together held `backlogMax` events (the process fell behind its simulated clock). */
  droppedFleetBacklog: number;
  /** Faults injected on purpose by a test harness, by kind. */
  injected: Record<InjectedFault, number>;
  /** What the broker refused, by the reason code it gave (hex, e.g. `0x87`); see RefusalCounts. */
  refusals: RefusalCounts;
  /** MQTT 5 CONNACK redirects (0x9C, 0x9D) followed to the server they named; one not followed is a refusal. */
  redirected: number;
  /** Machines a broker turned away that moved to the home plane the directory named (docs/planes.md). */
  relocated: number;
  /** Directory lookups the machines made after a refusal, and those without an answer (the machine then stays). */
  directoryLookups: number;
  directoryUnavailable: number;
  /** MQTT bytes the machines wrote to their connections, every packet (TLS and WebSocket framing not counted). */
  bytesWritten: number;
}

/**
 * Refusals by where they came and the code given: PUBACK reason codes of 0x80 or more (MQTT 5 only:
 * a 3.1.1 broker has no way to refuse a publish but to drop it or the connection), CONNACK refusals
 * (a 3.1.1 return code 1-5 or a v5 reason code), and the reason code of each DISCONNECT a broker sent.
 */
export interface RefusalCounts {
  puback: Record<string, number>;
  connack: Record<string, number>;
  disconnect: Record<string, number>;
}
export type RefusalPacket = keyof RefusalCounts;

/** `0x87`, the way the spec's tables write them. */
export const reasonCodeKey = (code: number): string => `0x${code.toString(16).padStart(2, '0')}`;

const zeroByKind = (): Record<EventKind, number> => Object.fromEntries(EVENT_KINDS.map((kind) => [kind, 0])) as Record<EventKind, number>;

/**
 * The fleet's counters. Acknowledgement callbacks only bump numbers; waiters are checked only while
 * someone waits. After `freeze()` late callbacks no longer change anything, so stop() can promise a
 * final count.
 */
export class FleetCounters implements WireTally {
  connected = 0;
  allConnectedAt: number | null = null;
  published = 0;
  readonly publishedByKind = zeroByKind();
  suppressed = 0;
  failed = 0;
  pending = 0;
  commands = 0;
  readonly commandOutcomes = Object.fromEntries(COMMAND_OUTCOMES.map((o) => [o, 0])) as Record<CommandOutcome, number>;
  commandReplies = 0;
  buffered = 0;
  bufferedBytes = 0;
  dropped = 0;
  droppedFleetBacklog = 0;
  readonly injected = Object.fromEntries(INJECTED_FAULTS.map((f) => [f, 0])) as Record<InjectedFault, number>;
  /** Keyed by code, without a prototype: a code is a number the broker chose, never a property name. */
  readonly refusals: RefusalCounts = { puback: Object.create(null), connack: Object.create(null), disconnect: Object.create(null) };
  redirected = 0;
  relocated = 0;
  directoryLookups = 0;
  directoryUnavailable = 0;
  /** Added to by every machine's MQTT client (WireTally); bytes keep counting after freeze(), they were sent. */
  bytesWritten = 0;
  private frozen = false;
  private waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

  /**
   * Machines counted in the stats (a replay learns them from the recording as it goes), and how many
   * events all their buffers may hold together (see DeviceConnection.send).
   */
  constructor(
    public machines: number,
    readonly backlogMax = Number.POSITIVE_INFINITY,
  ) {}

  /** A machine's link came up (connected is decremented directly when one goes down). */
  connectedOne(): void {
    this.connected++;
    if (this.allConnectedAt === null && this.machines > 0 && this.connected >= this.machines) this.allConnectedAt = performance.now();
  }

  sent(): void {
    this.pending++;
  }

  acked(kind: EventKind): void {
    if (this.frozen) return;
    this.pending--;
    this.published++;
    this.publishedByKind[kind]++;
    if (this.waiters.length > 0) this.wake();
  }

  failedOne(): void {
    if (this.frozen) return;
    this.pending--;
    this.failed++;
    if (this.waiters.length > 0) this.wake();
  }

  refused(packet: RefusalPacket, code: number): void {
    if (this.frozen) return;
    const key = reasonCodeKey(code);
    const counts = this.refusals[packet];
    counts[key] = (counts[key] ?? 0) + 1;
  }

  freeze(): void {
    this.frozen = true;
  }

  /** Resolves true once the condition holds, false when the timeout passes first. */
  until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  snapshot(): FleetStats {
    return {
      machines: this.machines,
      connected: this.connected,
      allConnectedAt: this.allConnectedAt,
      published: this.published,
      publishedByKind: { ...this.publishedByKind },
      suppressed: this.suppressed,
      failed: this.failed,
      pending: this.pending,
      commands: this.commands,
      commandOutcomes: { ...this.commandOutcomes },
      commandReplies: this.commandReplies,
      buffered: this.buffered,
      bufferedBytes: this.bufferedBytes,
      dropped: this.dropped,
      droppedFleetBacklog: this.droppedFleetBacklog,
      injected: { ...this.injected },
      refusals: { puback: { ...this.refusals.puback }, connack: { ...this.refusals.connack }, disconnect: { ...this.refusals.disconnect } },
      redirected: this.redirected,
      relocated: this.relocated,
      directoryLookups: this.directoryLookups,
      directoryUnavailable: this.directoryUnavailable,
      bytesWritten: this.bytesWritten,
    };
  }

  private wake(): void {
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) waiter.ready() ? waiter.resolve() : still.push(waiter);
    this.waiters = still;
  }
}
