import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { replyTo } from '../../firmware-sim/command-handler.ts';
import { commandResultSchema, parseCommand } from '../../schema/commands.ts';
import { parseTopic, topics } from '../../schema/topics.ts';
import { CommandResults } from '../../server/commands/command-results.ts';

const silent = pino({ level: 'silent' });
const at = '2026-11-30T08:00:00.000Z';
const answer = (commandId: string, name = 'reboot', extra: object = {}): Buffer =>
  Buffer.from(JSON.stringify({ v: 1, commandId, name, status: 'ok', at, ...extra }));

describe('the cmd-result topic (additive to v1)', () => {
  it('parses as its own type and leaves the command topic as it was', () => {
    expect(parseTopic(topics.commandResult('cm-abc', 'reboot'))).toEqual({ type: 'command-result', deviceId: 'cm-abc', name: 'reboot' });
    expect(parseTopic(topics.command('cm-abc', 'reboot'))).toEqual({ type: 'command', deviceId: 'cm-abc', name: 'reboot' });
    expect(parseTopic('coffee/v1/cm-abc/cmd-result/Reboot')).toBeNull();
    expect(parseTopic('coffee/v1/cm-abc/cmd-result')).toBeNull();
  });

  it('a device answers what it could read an id from, and only that', () => {
    const id = randomUUID();
    const unknown = parseCommand('self-destruct', JSON.stringify({ v: 1, id, issuedAt: at, args: {} }));
    expect(unknown).toEqual({ ok: false, code: 'command_unknown', commandId: id });
    expect(parseCommand('reboot', '{"v":1,')).toEqual({ ok: false, code: 'command_malformed' });
    const reply = replyTo('self-destruct', { outcome: 'command_unknown', commandId: id }, at);
    expect(commandResultSchema.parse(reply)).toEqual({ v: 1, commandId: id, name: 'self-destruct', status: 'rejected', code: 'command_unknown', at });
    expect(replyTo('reboot', { outcome: 'command_malformed' }, at)).toBeNull();
    expect(replyTo('', { outcome: 'command_unknown', commandId: id }, at)).toBeNull();
  });
});

describe('matching results to waiting commands', () => {
  it('hands the answer from the addressed device to its waiter', async () => {
    const results = new CommandResults(silent);
    const id = randomUUID();
    const waiting = results.expect('cm-abc', 'reboot', id, 5_000);
    results.accept(topics.commandResult('cm-abc', 'reboot'), answer(id));
    expect(await waiting).toMatchObject({ commandId: id, status: 'ok' });
    expect(results.counts()).toMatchObject({ answered: 1, waiting: 0 });
  });

  it('refuses and counts answers from another device, for another command, late or unreadable', async () => {
    const results = new CommandResults(silent);
    const id = randomUUID();
    const waiting = results.expect('cm-abc', 'reboot', id, 200);
    results.accept(topics.commandResult('cm-other', 'reboot'), answer(id));
    results.accept(topics.commandResult('cm-abc', 'set-recipe'), answer(id, 'set-recipe'));
    results.accept(topics.commandResult('cm-abc', 'reboot'), answer(id, 'set-recipe'));
    results.accept(topics.commandResult('cm-abc', 'reboot'), Buffer.from('not json'));
    results.accept(topics.commandResult('cm-abc', 'reboot'), answer(id, 'reboot', { ownerName: 'x' }));
    results.accept(topics.commandResult('cm-abc', 'reboot'), answer(randomUUID()));
    expect(await waiting).toBeNull();
    results.accept(topics.commandResult('cm-abc', 'reboot'), answer(id));
    expect(results.counts()).toEqual({ answered: 0, waiting: 0, refused: { result_invalid: 2, result_mismatch: 3, result_unexpected: 2 } });
  });

  it('close() releases every waiter at once', async () => {
    const results = new CommandResults(silent);
    const waiting = results.expect('cm-abc', 'reboot', randomUUID(), 60_000);
    results.close();
    expect(await waiting).toBeNull();
  });
});
