import type { Logger } from 'pino';
import type { ConsentRecord } from '../schema/consent.ts';
import { DeviceConnection } from './device-connection.ts';
import type { FleetCounters } from './fleet-stats.ts';
import type { MachineIdentity } from './fleet-options.ts';
import { MachineModel, type EventSink } from './machine-model.ts';
import { realDelayUntil, type SimClock } from './sim-clock.ts';

/** Far-off events are re-checked now and then instead of arming a timer beyond setTimeout's range. */
const MAX_TIMER_MS = 60_000;

export interface MachineRunnerOptions {
  identity: MachineIdentity;
  index: number;
  fleetSeed: number;
  brokerUrl: string;
  clock: SimClock;
  counters: FleetCounters;
  logger: Logger;
}

/**
 * Glue between one pure model and its connection: one timer per machine, armed for the model's next
 * simulated deadline scaled by the clock's speed. The machine powers on when its runner is created.
 */
export class MachineRunner {
  readonly connection: DeviceConnection;
  private readonly model: MachineModel;
  private readonly sink: EventSink;
  private timer: NodeJS.Timeout | null = null;
  private halted = false;

  constructor(private readonly options: MachineRunnerOptions) {
    const { identity, clock, counters } = options;
    this.model = new MachineModel({
      deviceId: identity.deviceId,
      region: identity.region,
      fleetSeed: options.fleetSeed,
      index: options.index,
      bootAt: clock.now(),
      usage: identity.usage,
      firmware: identity.profile,
    });
    this.connection = new DeviceConnection({
      brokerUrl: options.brokerUrl,
      deviceId: identity.deviceId,
      secret: identity.secret,
      counters,
      logger: options.logger,
      onConsent: (record) => this.onConsent(record),
    });
    this.sink = {
      emit: (kind, envelope) => this.connection.publish(kind, envelope),
      suppress: () => {
        counters.suppressed++;
      },
    };
    this.schedule();
  }

  /** Stops producing; the connection stays up so outstanding acknowledgements can still arrive. */
  halt(): void {
    this.halted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private onConsent(record: ConsentRecord): void {
    if (this.halted) return;
    // What happened before the record arrived is judged by the consent held at the time.
    const now = this.options.clock.now();
    this.model.advance(now, this.sink);
    if (!this.model.applyConsent(record, now)) return;
    this.options.logger.debug({ deviceId: this.model.deviceId, consentVersion: record.version }, 'consent applied');
    if (this.timer) clearTimeout(this.timer);
    this.tick();
  }

  private schedule(): void {
    if (this.halted) return;
    const due = this.model.nextDueAt();
    if (!Number.isFinite(due)) return;
    this.timer = setTimeout(this.tick, Math.min(realDelayUntil(this.options.clock, due), MAX_TIMER_MS));
  }

  private readonly tick = (): void => {
    this.timer = null;
    this.model.advance(this.options.clock.now(), this.sink);
    this.schedule();
  };
}
