import type { Logger } from 'pino';
import { commandResultSchema, type CommandResult } from '../../schema/commands.ts';
import { parseTopic } from '../../schema/topics.ts';

/** Why an answer on `cmd-result/+` was not handed to anyone; stable codes for logs and counts. */
export const RESULT_REFUSALS = ['result_invalid', 'result_mismatch', 'result_unexpected'] as const;
export type ResultRefusal = (typeof RESULT_REFUSALS)[number];

interface Waiting {
  deviceId: string;
  name: string;
  resolve: (result: CommandResult | null) => void;
  timer: NodeJS.Timeout;
}

/**
 * Matches the answers devices publish on `coffee/v1/{id}/cmd-result/{name}` to the commands waiting
 * for them, by command id. An answer counts only from the device and for the command it was sent:
 * another device cannot answer for it. Whatever is refused is counted and logged by code, never
 * with its payload.
 */
export class CommandResults {
  private readonly waiting = new Map<string, Waiting>();
  private readonly refused = Object.fromEntries(RESULT_REFUSALS.map((r) => [r, 0])) as Record<ResultRefusal, number>;
  private answered = 0;

  constructor(private readonly logger: Logger) {}

  /** Resolves with the device's answer to `commandId`, or null when none came within `timeoutMs`. */
  expect(deviceId: string, name: string, commandId: string, timeoutMs: number): Promise<CommandResult | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(commandId, null), timeoutMs);
      this.waiting.set(commandId, { deviceId, name, resolve, timer });
    });
  }

  /** Stops waiting for `commandId` (e.g. its publish failed); a waiter gets null. */
  forget(commandId: string): void {
    this.settle(commandId, null);
  }

  /**
   * `correlationData`: what an MQTT 5 device echoed from the command (its id); when present it must
   * name the same command as the body, else the answer is a mismatch. 3.1.1 answers have none.
   */
  accept(topic: string, payload: Buffer, correlationData?: Buffer): void {
    const parsed = parseTopic(topic);
    if (parsed?.type !== 'command-result') return;
    const body = commandResultSchema.safeParse(parseJson(payload));
    if (!body.success) return this.refuse('result_invalid', parsed.deviceId);
    const waiting = this.waiting.get(body.data.commandId);
    // Late (after the timeout), repeated (a QoS 1 redelivery) or never asked for.
    if (waiting === undefined) return this.refuse('result_unexpected', parsed.deviceId);
    const correlated = correlationData === undefined || correlationData.toString('utf8') === body.data.commandId;
    if (waiting.deviceId !== parsed.deviceId || waiting.name !== parsed.name || body.data.name !== parsed.name || !correlated) {
      return this.refuse('result_mismatch', parsed.deviceId);
    }
    this.answered++;
    this.settle(body.data.commandId, body.data);
  }

  counts(): { answered: number; waiting: number; refused: Record<ResultRefusal, number> } {
    return { answered: this.answered, waiting: this.waiting.size, refused: { ...this.refused } };
  }

  /** Every waiter gets null at once; for shutdown. */
  close(): void {
    for (const commandId of [...this.waiting.keys()]) this.settle(commandId, null);
  }

  private settle(commandId: string, result: CommandResult | null): void {
    const waiting = this.waiting.get(commandId);
    if (waiting === undefined) return;
    this.waiting.delete(commandId);
    clearTimeout(waiting.timer);
    waiting.resolve(result);
  }

  private refuse(code: ResultRefusal, deviceId: string): void {
    this.refused[code]++;
    // An unexpected answer is mostly a late one after a timeout: worth a note, not an alarm.
    this.logger[code === 'result_unexpected' ? 'info' : 'warn']({ deviceId, code }, 'command result not accepted');
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
