import { describe, expect, it } from 'vitest';
import { mayPublish, maySubscribe, publishVerdict, type AclSubject } from '../../broker/acl-policy.ts';
import { COMMAND_NAMES } from '../../schema/commands.ts';
import { CONTROL_TOPICS } from '../../schema/control.ts';
import { EVENT_KINDS } from '../../schema/events.ts';
import { topics } from '../../schema/topics.ts';

const me: AclSubject = { kind: 'device', deviceId: 'cm-alice0001' };
const ingest: AclSubject = { kind: 'service', role: 'ingest' };
const OTHER = 'cm-bob00002';

describe('device publish rights', () => {
  it.each(EVENT_KINDS)('may publish its own evt/%s', (kind) => {
    expect(mayPublish(me, `coffee/v1/cm-alice0001/evt/${kind}`)).toBe(true);
  });

  it('may publish its own state', () => {
    expect(mayPublish(me, 'coffee/v1/cm-alice0001/state')).toBe(true);
  });

  it('may answer a command on its own cmd-result/{name}', () => {
    expect(mayPublish(me, topics.commandResult('cm-alice0001', 'reboot'))).toBe(true);
  });

  it.each([
    [`coffee/v1/${OTHER}/evt/brew`, "another device's event"],
    [`coffee/v1/${OTHER}/state`, "another device's state"],
    ['coffee/v1/cm-alice0001/consent', 'its own consent (cloud -> device only)'],
    ['coffee/v1/cm-alice0001/cmd/reboot', 'its own command topic (cloud -> device only)'],
    [`coffee/v1/${OTHER}/cmd-result/reboot`, "another device's command result"],
    ['coffee/v1/cm-alice0001/cmd-result/Bad_Name', 'a command result outside the grammar'],
    ['coffee/v1/cm-alice0001/cmd-result', 'a command result without a name'],
    ['coffee/v1/cm-alice0001/evt/telemetry', 'an unknown event kind'],
    ['coffee/v1/cm-alice0001/evt/brew/extra', 'an extra level'],
    ['coffee/v1/cm-alice0001/evt', 'a missing kind'],
    ['coffee/v2/cm-alice0001/evt/brew', 'another grammar version'],
    ['coffee/v1/CM-ALICE0001/evt/brew', 'a differently cased id'],
    ['$SYS/broker/uptime', '$SYS'],
    ['$SYS/x/new/clients', '$SYS client announcements'],
    ['$share/g/coffee/v1/cm-alice0001/state', 'a $share-prefixed name'],
    ['cm-alice0001/evt/brew', 'outside coffee/'],
    ['', 'the empty topic'],
    ['coffee/v1/+/evt/brew', 'a + wildcard'],
    ['coffee/v1/cm-alice0001/#', 'a # wildcard'],
    ['/coffee/v1/cm-alice0001/state', 'a leading slash'],
  ])('may not publish %s (%s)', (topic) => {
    expect(mayPublish(me, topic)).toBe(false);
  });
});

describe('device subscribe rights', () => {
  it.each(['coffee/v1/cm-alice0001/consent', 'coffee/v1/cm-alice0001/cmd/#', 'coffee/v1/cm-alice0001/cmd/reboot'])('may subscribe %s', (filter) => {
    expect(maySubscribe(me, filter)).toBe(true);
  });

  it.each([
    ['#', 'everything'],
    ['coffee/#', 'the whole tree'],
    ['coffee/v1/+/consent', 'every consent'],
    ['coffee/v1/+/cmd/#', "every device's commands"],
    ['coffee/v1/cm-alice0001/#', 'its whole subtree'],
    ['coffee/v1/cm-alice0001/cmd/+', 'a + command (only cmd/# or a concrete name)'],
    ['coffee/v1/cm-alice0001/+', 'a + leaf'],
    [`coffee/v1/${OTHER}/consent`, "another device's consent"],
    [`coffee/v1/${OTHER}/cmd/#`, "another device's commands"],
    [`coffee/v1/${OTHER}/cmd/reboot`, "another device's concrete command"],
    ['coffee/v1/cm-alice0001/evt/brew', 'its own events (device -> cloud only)'],
    ['coffee/v1/cm-alice0001/state', 'its own state'],
    ['coffee/v1/cm-alice0001/cmd/Bad_Name', 'a command name outside the grammar'],
    ['coffee/v1/cm-alice0001/cmd-result/reboot', 'its own command results (device -> cloud only)'],
    ['coffee/v1/cm-alice0001/cmd-result/#', 'its own command results, by wildcard'],
    ['$SYS/#', '$SYS'],
    ['$share/g/coffee/v1/cm-alice0001/consent', 'a shared subscription'],
  ])('may not subscribe %s (%s)', (filter) => {
    expect(maySubscribe(me, filter)).toBe(false);
  });
});

describe('ingest role', () => {
  it.each([
    'coffee/v1/+/evt/+',
    'coffee/v1/+/state',
    'coffee/v1/cm-alice0001/evt/brew',
    'coffee/v1/cm-alice0001/evt/+',
    'coffee/v1/+/evt/payment',
    'coffee/v1/cm-alice0001/state',
    topics.filters.allCommandResults,
    'coffee/v1/cm-alice0001/cmd-result/+',
    'coffee/v1/+/cmd-result/reboot',
    'coffee/v1/cm-alice0001/cmd-result/set-recipe',
  ])('may subscribe %s', (filter) => {
    expect(maySubscribe(ingest, filter)).toBe(true);
  });

  it.each([
    '#',
    'coffee/#',
    'coffee/v1/#',
    'coffee/v1/+/evt/#',
    'coffee/v1/+/+',
    'coffee/v1/+/+/+',
    'coffee/v1/+/consent',
    'coffee/v1/+/cmd/#',
    'coffee/v1/cm-alice0001/consent',
    'coffee/v1/+/evt/telemetry',
    'coffee/+/cm-alice0001/state',
    '+/v1/cm-alice0001/state',
    '$SYS/#',
    '$share/ingest/coffee/v1/+/evt/+',
    'coffee/v1/+/cmd-result/#',
    'coffee/v1/+/cmd-result/Bad_Name',
    'coffee/v1/+/cmd/+',
  ])('may not subscribe %s', (filter) => {
    expect(maySubscribe(ingest, filter)).toBe(false);
  });

  it.each(['coffee/v1/cm-alice0001/consent', `coffee/v1/${OTHER}/consent`, 'coffee/v1/cm-alice0001/cmd/reboot'])('may publish %s', (topic) => {
    expect(mayPublish(ingest, topic)).toBe(true);
  });

  it.each([
    'coffee/v1/cm-alice0001/evt/brew',
    'coffee/v1/cm-alice0001/state',
    'coffee/v1/+/consent',
    'coffee/v1/cm-alice0001/cmd/#',
    'coffee/v1/cm-alice0001/cmd/Reboot!',
    '$SYS/broker/x',
    'anything/else',
    'coffee/v1/cm-alice0001/cmd-result/reboot',
    'coffee/v1/cm-alice0001/cmd/descale',
  ])('may not publish %s', (topic) => {
    expect(mayPublish(ingest, topic)).toBe(false);
  });
});

describe('retained messages', () => {
  const retained = { retain: true, empty: false };
  const cleared = { retain: true, empty: true };

  it("lets a device retain only its own state (its will's topic)", () => {
    expect(publishVerdict(me, topics.state('cm-alice0001'), retained)).toBe('allow');
    expect(publishVerdict(me, topics.state('cm-alice0001'), cleared)).toBe('allow');
    for (const kind of EVENT_KINDS) expect(publishVerdict(me, topics.event('cm-alice0001', kind), retained)).toBe('retain_refused');
    expect(publishVerdict(me, topics.commandResult('cm-alice0001', 'reboot'), retained)).toBe('retain_refused');
    expect(publishVerdict(me, topics.commandResult('cm-alice0001', 'reboot'), cleared)).toBe('retain_refused');
    // Another device's topic stays a plain denial, retained or not.
    expect(publishVerdict(me, topics.state(OTHER), retained)).toBe('deny');
  });

  it('lets ingest retain consent, clear a state, and nothing else', () => {
    expect(publishVerdict(ingest, topics.consent('cm-alice0001'), retained)).toBe('allow');
    expect(publishVerdict(ingest, topics.consent('cm-alice0001'), cleared)).toBe('allow');
    expect(publishVerdict(ingest, topics.state('cm-alice0001'), cleared)).toBe('allow');
    // Setting a device's state, retained or not, is the device's own business.
    expect(publishVerdict(ingest, topics.state('cm-alice0001'), retained)).toBe('deny');
    expect(publishVerdict(ingest, topics.state('cm-alice0001'), { retain: false, empty: true })).toBe('deny');
    expect(publishVerdict(ingest, topics.command('cm-alice0001', 'reboot'), retained)).toBe('retain_refused');
  });
});

describe('command names', () => {
  it.each(COMMAND_NAMES)('a device may answer the existing command %s, and ingest may send it', (name) => {
    expect(mayPublish(me, topics.commandResult('cm-alice0001', name))).toBe(true);
    expect(mayPublish(ingest, topics.command('cm-alice0001', name))).toBe(true);
  });

  it.each(['descale', 'a', 'set-mode', 'x'.repeat(32)])('no result nor command for a name that is no command (%s), though the grammar admits it', (name) => {
    expect(mayPublish(me, topics.commandResult('cm-alice0001', name))).toBe(false);
    expect(mayPublish(ingest, topics.command('cm-alice0001', name))).toBe(false);
  });
});

describe('control topics', () => {
  it.each(Object.values(CONTROL_TOPICS))('only ingest may publish %s, never retained, and nobody may subscribe', (topic) => {
    expect(publishVerdict(ingest, topic)).toBe('allow');
    expect(publishVerdict(ingest, topic, { retain: true, empty: false })).toBe('retain_refused');
    expect(mayPublish(me, topic)).toBe(false);
    for (const who of [me, ingest]) {
      expect(maySubscribe(who, topic)).toBe(false);
      expect(maySubscribe(who, '$brewtel/#')).toBe(false);
      expect(maySubscribe(who, '$brewtel/v1/+')).toBe(false);
    }
  });
});
