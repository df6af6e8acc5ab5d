import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { COMMAND_VERSION, commandEnvelopeSchemas, type CommandName, type CommandResult } from '../../schema/commands.ts';
import { topics } from '../../schema/topics.ts';
import type { PublishProperties } from '../../mqtt-wire/client-options.ts';
import { commandExpirySeconds, type CommandsConfig } from '../config.ts';
import type { PublishConnection } from '../ingest/publish-connection.ts';
import type { CommandResults } from './command-results.ts';

export type SendOutcome =
  | { status: 'answered'; result: CommandResult }
  | { status: 'timeout'; commandId: string }
  /** The server has no broker connection to send on (ingest not attached yet). */
  | { status: 'no_broker' };

export interface CommandSenderDeps {
  /** The server's outbound MQTT connection once there is one (see ingest/publish-connection.ts). */
  connection: () => PublishConnection | null;
  results: CommandResults;
  config: CommandsConfig;
  logger: Logger;
}

/**
 * Sends one command to one device on `cmd/{name}` (QoS 1, not retained: a command is for now, not
 * for whoever connects next) and waits for the device's answer on `cmd-result/{name}`. Arguments
 * are checked against the command's schema by the caller; the envelope is checked again here, so
 * nothing off-contract ever reaches the wire.
 *
 * MQTT 5 (request/response, v5 §4.10): the command names its Response Topic, the device's own
 * `cmd-result/{name}` (the only place the ACL lets the device answer, and one the server already
 * subscribes to; see docs/mqtt-wire.md), carries the command id as Correlation Data, and a Message
 * Expiry (config.commands). A 3.1.1 connection leaves the properties out; 3.1.1 devices answer on
 * `cmd-result/{name}` anyway.
 */
export class CommandSender {
  constructor(private readonly deps: CommandSenderDeps) {}

  async send(deviceId: string, name: CommandName, args: unknown, timeoutMs: number): Promise<SendOutcome> {
    const connection = this.deps.connection();
    if (connection === null) return { status: 'no_broker' };
    const envelope = commandEnvelopeSchemas[name].parse({ v: COMMAND_VERSION, id: randomUUID(), issuedAt: new Date().toISOString(), args });
    const commandId = envelope.id;
    // Waiting starts before publishing: a fast device may answer before the PUBACK reaches us.
    const answer = this.deps.results.expect(deviceId, name, commandId, timeoutMs);
    const expiry = commandExpirySeconds(this.deps.config, name);
    const properties: PublishProperties = {
      responseTopic: topics.commandResult(deviceId, name),
      correlationData: Buffer.from(commandId, 'utf8'),
      payloadFormatIndicator: true,
      contentType: 'application/json',
      ...(expiry === undefined ? {} : { messageExpiryInterval: expiry }),
    };
    connection.publish(topics.command(deviceId, name), JSON.stringify(envelope), { qos: 1, properties }).catch((error: Error) => {
      this.deps.logger.warn({ deviceId, command: name, commandId, err: error.message }, 'command publish failed');
      this.deps.results.forget(commandId);
    });
    const result = await answer;
    this.deps.logger.info({ deviceId, command: name, commandId, status: result?.status ?? 'timeout', code: result?.code }, 'command sent');
    return result === null ? { status: 'timeout', commandId } : { status: 'answered', result };
  }
}
