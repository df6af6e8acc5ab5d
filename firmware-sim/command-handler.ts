import { COMMAND_VERSION, parseCommand, type CommandEnvelope, type CommandResult as WireResult, type RecipeSettings } from '../schema/commands.ts';
import type { ConsentRecord } from '../schema/consent.ts';
import { commandNameSchema } from '../schema/topics.ts';

/** What became of one command; the codes are stable, they end up in fleet stats, logs and the reply. */
export const COMMAND_OUTCOMES = ['applied', 'duplicate', 'stale', 'command_unknown', 'command_malformed', 'failed'] as const;
export type CommandOutcome = (typeof COMMAND_OUTCOMES)[number];

/** What a command can do to a machine; the runner wires it to the model and the connection. */
export interface CommandTarget {
  /** False when the record is older than, or the same as, the one held, or is for another device. */
  applyConsent(record: ConsentRecord): boolean;
  wipeLocalData(): void;
  reboot(): void;
  setRecipe(settings: RecipeSettings): void;
}

export interface CommandResult {
  outcome: CommandOutcome;
  /** Present when the payload carried a readable id: the issuer's, safe to log (it says nothing about the owner). */
  commandId?: string;
}

const REPLY: Record<CommandOutcome, Pick<WireResult, 'status' | 'code'>> = {
  applied: { status: 'ok' },
  duplicate: { status: 'ok', code: 'duplicate' },
  stale: { status: 'rejected', code: 'consent_stale' },
  command_unknown: { status: 'rejected', code: 'command_unknown' },
  command_malformed: { status: 'rejected', code: 'command_malformed' },
  failed: { status: 'failed', code: 'command_failed' },
};

/** The answer on `cmd-result/{name}`; null when the command had no readable id to answer to. */
export function replyTo(name: string, result: CommandResult, at: string): WireResult | null {
  // No id, or a name outside the grammar (there is no reply topic for it): nobody to answer.
  if (result.commandId === undefined || !commandNameSchema.safeParse(name).success) return null;
  return { v: COMMAND_VERSION, commandId: result.commandId, name, ...REPLY[result.outcome], at };
}

/** QoS 1 may deliver a command twice; this many recent ids are remembered to act on each only once. */
const REMEMBERED_IDS = 16;

/**
 * Turns a `cmd/{name}` message into at most one effect on the machine. Holds only the recent command
 * ids, allocated on the first command, since most machines in a fleet never get one.
 */
export class CommandHandler {
  private recentIds: string[] | null = null;

  constructor(private readonly target: CommandTarget) {}

  handle(name: string, payload: Uint8Array | string): CommandResult {
    const parsed = parseCommand(name, payload);
    if (!parsed.ok) return parsed.commandId === undefined ? { outcome: parsed.code } : { outcome: parsed.code, commandId: parsed.commandId };
    const { command } = parsed;
    this.recentIds ??= [];
    const recent = this.recentIds;
    if (recent.includes(command.id)) return { outcome: 'duplicate', commandId: command.id };
    recent.push(command.id);
    if (recent.length > REMEMBERED_IDS) recent.shift();
    try {
      return { outcome: this.apply(command), commandId: command.id };
    } catch {
      // The issuer learns it failed; the machine goes on running either way, as firmware must.
      return { outcome: 'failed', commandId: command.id };
    }
  }

  private apply(command: CommandEnvelope): CommandOutcome {
    switch (command.name) {
      case 'apply-consent':
        return this.target.applyConsent(command.args.record) ? 'applied' : 'stale';
      case 'wipe-local-data':
        this.target.wipeLocalData();
        return 'applied';
      case 'reboot':
        this.target.reboot();
        return 'applied';
      case 'set-recipe':
        this.target.setRecipe(command.args);
        return 'applied';
    }
  }
}
