import type { Logger } from 'pino';
import type { ProtocolVersion } from '../mqtt-wire/codes.ts';
import type { ConsentRecord } from '../schema/consent.ts';
import type { RecipeSettings } from '../schema/commands.ts';
import type { EventKind } from '../schema/events.ts';
import { CommandHandler, replyTo, type CommandTarget } from './command-handler.ts';
import { DeviceConnection } from './device-connection.ts';
import type { CommandRequest } from './device-publish-options.ts';
import type { DirectoryClient } from './directory-client.ts';
import type { FaultRates } from '../schema/fault-rates.ts';
import { FaultyLink } from './faulty-link.ts';
import type { MachineFaultRates } from './machine-faults.ts';
import type { FleetCounters } from './fleet-stats.ts';
import type { FleetWindow } from './fleet-window.ts';
import type { MachineIdentity } from './fleet-options.ts';
import type { OutgoingEnvelope } from './envelope.ts';
import { MachineModel, type EventSink } from './machine-model.ts';
import { deriveSeed } from './random.ts';
import type { RunRecorder } from './run-recording.ts';
import { realDelayUntil, type SimClock } from './sim-clock.ts';

/** Far-off events are re-checked now and then instead of arming a timer beyond setTimeout's range. */
const MAX_TIMER_MS = 60_000;
/** A reboot keeps the machine off the network for about ten simulated seconds, within sane real bounds. */
const REBOOT_SIM_MS = 10_000;
const REBOOT_REAL_MS: readonly [min: number, max: number] = [20, 10_000];

export interface MachineRunnerOptions {
  identity: MachineIdentity;
  index: number;
  fleetSeed: number;
  brokerUrl: string;
  mqttVersion?: ProtocolVersion;
  sessionExpiryS?: number;
  willDelayS?: number;
  topicAliases?: boolean;
  /** Where to ask for the machine's home plane when a broker turns it away (regional planes). */
  directory?: DirectoryClient;
  offlineBufferSize: number;
  recorder?: RunRecorder;
  /** This machine's, read on every event, so rates can change while it runs. */
  faults: { rates: FaultRates };
  /** How far this machine's clock is off, read on every event: its envelopes' `ts` say that much later (earlier when negative). */
  skew: { ms: number };
  machineFaults?: MachineFaultRates;
  clock: SimClock;
  counters: FleetCounters;
  /** The fleet's bound on events in flight over all its machines. */
  window: FleetWindow;
  logger: Logger;
}

/**
 * Glue between one pure model and its connection: one timer per machine, armed for the model's next
 * simulated deadline scaled by the clock's speed. The machine powers on when its runner is created.
 *
 * The runner is itself the model's event sink and the command handler's target (methods, not
 * callbacks): a fleet holds ten thousand runners, and each callback would be a closure per machine.
 */
export class MachineRunner implements EventSink, CommandTarget {
  readonly connection: DeviceConnection;
  private readonly model: MachineModel;
  private readonly commands: CommandHandler;
  private readonly link: FaultyLink;
  private timer: NodeJS.Timeout | null = null;
  private halted = false;
  /** Set while a reboot command is being answered: the link goes down only after the answer is out. */
  private rebootRequested = false;

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
      faultRates: options.machineFaults,
    });
    this.connection = new DeviceConnection({
      brokerUrl: options.brokerUrl,
      mqttVersion: options.mqttVersion,
      sessionExpiryS: options.sessionExpiryS,
      willDelayS: options.willDelayS,
      topicAliases: options.topicAliases,
      ...(options.directory ? { directory: options.directory } : {}),
      deviceId: identity.deviceId,
      secret: identity.secret,
      counters,
      window: options.window,
      logger: options.logger,
      offlineBufferSize: options.offlineBufferSize,
      recorder: options.recorder,
      onConsent: (record) => this.applyConsent(record),
      onCommand: (name, payload, request) => this.onCommand(name, payload, request),
    });
    this.commands = new CommandHandler(this);
    this.link = new FaultyLink({
      connection: this.connection,
      faults: options.faults,
      seed: deriveSeed(options.fleetSeed, options.index, 'faults'),
      injected: counters.injected,
    });
    this.schedule();
  }

  /** EventSink: the model's events go out through the (possibly faulty) link, stamped with this machine's clock skew. */
  emit(kind: EventKind, envelope: OutgoingEnvelope): void {
    const { ms } = this.options.skew;
    this.link.publish(kind, ms === 0 ? envelope : { ...envelope, ts: new Date(Date.parse(envelope.ts) + ms).toISOString() });
  }

  /** EventSink: an event the edge consent check kept on the device. */
  suppress(): void {
    this.options.counters.suppressed++;
  }

  /** Customers `factor` times as often from now on (see MachineModel.setBrewRate). */
  setBrewRate(factor: number): void {
    const now = this.options.clock.now();
    this.model.advance(now, this);
    this.model.setBrewRate(factor, now);
    if (!this.halted) this.reschedule();
  }

  /**
   * The clock changed its speed (RampClock.speedUp): the timer armed for the old speed would fire
   * late, so it is armed again for the same simulated deadline. What is due by now runs now, once.
   */
  rearm(): void {
    if (!this.halted) this.reschedule();
  }

  /** Stops producing; the connection stays up so outstanding acknowledgements can still arrive. */
  halt(): void {
    this.halted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.link.flush();
  }

  /** CommandTarget, and a retained record on the consent topic. */
  applyConsent(record: ConsentRecord): boolean {
    if (this.halted) return false;
    // What happened before the record arrived is judged by the consent held at the time.
    const now = this.options.clock.now();
    this.model.advance(now, this);
    if (!this.model.applyConsent(record, now)) return false;
    this.options.logger.debug({ deviceId: this.model.deviceId, consentVersion: record.version }, 'consent applied');
    this.reschedule();
    return true;
  }

  private onCommand(name: string, payload: Buffer, request: CommandRequest): void {
    const result = this.commands.handle(name, payload);
    const { outcome, commandId } = result;
    this.options.counters.commandOutcomes[outcome]++;
    // The command name comes from the topic grammar and the id from the issuer; neither is personal.
    const entry = { deviceId: this.model.deviceId, command: name, commandId, outcome };
    if (outcome === 'applied') this.options.logger.info(entry, 'command applied');
    else this.options.logger.warn(entry, 'command refused');

    const rebootNow = this.rebootRequested;
    this.rebootRequested = false;
    const reply = replyTo(name, result, new Date(this.options.clock.now()).toISOString());
    if (reply === null) {
      if (rebootNow) this.restartLink();
      return;
    }
    this.options.counters.commandReplies++;
    this.connection.reply(name, JSON.stringify(reply), rebootNow ? () => this.restartLink() : undefined, request);
  }

  /** CommandTarget. */
  setRecipe(settings: RecipeSettings): void {
    this.model.setRecipe(settings);
  }

  /** CommandTarget. */
  wipeLocalData(): void {
    this.model.advance(this.options.clock.now(), this);
    this.model.wipeLocalData();
    this.connection.discardBuffered();
    // The cloud's ledger is the truth; the device fetches the current record again instead of holding none.
    this.connection.refetchConsent();
  }

  /** CommandTarget: the machine restarts at once; its link goes down once the answer to the command is out. */
  reboot(): void {
    this.rebootRequested = true;
    if (this.halted) return;
    this.model.reboot(this.options.clock.now(), this);
    this.reschedule();
  }

  private restartLink(): void {
    const [min, max] = REBOOT_REAL_MS;
    this.connection.restart(Math.min(max, Math.max(min, REBOOT_SIM_MS / this.options.clock.speed)));
  }

  private reschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.tick();
  }

  private schedule(): void {
    if (this.halted) return;
    const due = this.model.nextDueAt();
    if (!Number.isFinite(due)) return;
    this.timer = setTimeout(tickRunner, Math.min(realDelayUntil(this.options.clock, due), MAX_TIMER_MS), this);
  }

  /** The timer's end: runs what is due and arms the timer for the next deadline. */
  tick(): void {
    this.timer = null;
    this.model.advance(this.options.clock.now(), this);
    this.schedule();
  }
}

// At module level, with the runner as its argument, so no runner holds a closure for its timer.
function tickRunner(runner: MachineRunner): void {
  runner.tick();
}
