import { describe, expect, it } from 'vitest';
import { parseTopic, topics } from '../../schema/topics.ts';

describe('topic grammar', () => {
  const id = 'cm-abcdefghijklmnop';

  it('round-trips every topic it builds', () => {
    expect(parseTopic(topics.event(id, 'brew'))).toEqual({ type: 'event', deviceId: id, kind: 'brew' });
    expect(parseTopic(topics.state(id))).toEqual({ type: 'state', deviceId: id });
    expect(parseTopic(topics.consent(id))).toEqual({ type: 'consent', deviceId: id });
    expect(parseTopic(topics.command(id, 'apply-consent'))).toEqual({ type: 'command', deviceId: id, name: 'apply-consent' });
  });

  it.each([
    ['empty', ''],
    ['another root', `tea/v1/${id}/state`],
    ['another version', `coffee/v2/${id}/state`],
    ['uppercase root', `Coffee/v1/${id}/state`],
    ['leading slash', `/coffee/v1/${id}/state`],
    ['trailing slash', `coffee/v1/${id}/state/`],
    ['empty device level', 'coffee/v1//state'],
    ['single-level wildcard as device', 'coffee/v1/+/state'],
    ['multi-level wildcard', `coffee/v1/${id}/#`],
    ['wildcard inside a level', `coffee/v1/cm-ab+cd/state`],
    ['uppercase device id', 'coffee/v1/CM-ABC/state'],
    ['too short device id', 'coffee/v1/ab/state'],
    ['unknown leaf', `coffee/v1/${id}/telemetry`],
    ['event without kind', `coffee/v1/${id}/evt`],
    ['unknown event kind', `coffee/v1/${id}/evt/coffee`],
    ['event kind wildcard', `coffee/v1/${id}/evt/+`],
    ['extra level after kind', `coffee/v1/${id}/evt/brew/extra`],
    ['command with uppercase name', `coffee/v1/${id}/cmd/Reboot`],
    ['command with an empty name', `coffee/v1/${id}/cmd/`],
    ['$SYS topic', '$SYS/broker/uptime'],
    ['NUL byte', `coffee/v1/${id}\u0000/state`],
  ])('rejects %s', (_name, topic) => {
    expect(parseTopic(topic)).toBeNull();
  });
});
