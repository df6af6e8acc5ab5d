import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ConsentCategories } from '../../schema/consent.ts';
import { fleetDevice } from '../../server/dashboard/fleet-view.ts';
import { LiveFeed, type FeedNotice } from '../../server/dashboard/live-feed.ts';
import { RateWindow } from '../../server/dashboard/rate-window.ts';
import { passes, toStreamMessage } from '../../server/dashboard/stream-filter.ts';
import { parseEvents } from '../../server/dashboard/web/sse.ts';
import { parseRoute } from '../../server/dashboard/web/route.ts';
import type { SessionResponse } from '../../server/dashboard/dashboard-api.ts';
import { deviceTimeLabel, positionText, PRECISION_TEXT } from '../../server/dashboard/web/format.ts';
import { clusterPoints, spreadOffsets } from '../../server/dashboard/web/map-clusters.ts';
import { brokerUrlFor, demoCommand } from '../../server/dashboard/web/views/leaky-demo.ts';
import type { EventRow, QuarantinedRow } from '../../server/store/types.ts';

const at = new Date('2026-11-28T10:00:00.000Z');
const row = (kind: EventRow['kind'], body: object, deviceId = 'cm-aaaaaaaaaaaaaaaa'): EventRow => ({
  id: '019ac000-0000-7000-8000-000000000001',
  deviceId,
  kind,
  seq: 1,
  deviceTs: at,
  receivedAt: at,
  consentVersion: 1,
  body: JSON.stringify(body),
});
const exactFix = { precision: 'exact', lat: 52.52437, lon: 13.41053, accuracyM: 15 };
const status = { phase: 'idle', waterTankMl: 1200, beansG: 300, milkMl: 500, groundsBinCount: 3, cupsUntilDescale: 100, boilerTempC: 92 };
const entry = { deviceId: 'cm-aaaaaaaaaaaaaaaa', region: 'eu', secretHash: 'x', createdAt: at };
const consent = (categories: ConsentCategories) => ({ deviceId: entry.deviceId, version: 3, issuedAt: at.toISOString(), categories });

describe('fleet view', () => {
  const parts = (categories: ConsentCategories) => ({
    entry,
    consent: consent(categories),
    state: 'online' as const,
    lastLocation: row('location', exactFix),
    lastStatus: row('status', status),
  });

  it('shows a stored exact fix only as precisely as the consent in force now allows', () => {
    const all = { usage: true, payment: true, diagnostics: true };
    expect(fleetDevice(parts({ ...all, location: 'exact' })).location).toMatchObject({ precision: 'exact', lat: 52.52437 });
    expect(fleetDevice(parts({ ...all, location: 'coarse' })).location).toMatchObject({ precision: 'coarse', lat: 52.5, lon: 13.4, accuracyM: 10_000 });
    expect(fleetDevice(parts({ ...all, location: 'none' })).location).toBeNull();
  });

  it('shows consumables only while diagnostics are consented', () => {
    expect(fleetDevice(parts({ usage: false, location: 'none', payment: false, diagnostics: true })).consumables).toMatchObject({ beansG: 300 });
    expect(fleetDevice(parts({ usage: true, location: 'exact', payment: true, diagnostics: false })).consumables).toBeNull();
  });
});

describe('stream filter', () => {
  const stored: FeedNotice = { type: 'stored', region: 'eu', row: row('brew', { recipe: 'latte' }) };
  const refused: FeedNotice = {
    type: 'refused',
    region: 'us',
    row: { receivedAt: at, reason: 'schema_invalid', deviceId: 'cm-bbbbbbbbbbbbbbbb', eventId: null, kind: 'payment' },
  };

  it('passes only the regions the token may see, then the chosen region, kind and device', () => {
    const both = new Set(['eu', 'us']);
    expect(passes(stored, {}, new Set(['us']))).toBe(false);
    expect(passes(stored, {}, both)).toBe(true);
    expect(passes(stored, { region: 'us' }, both)).toBe(false);
    expect(passes(stored, { kind: 'status' }, both)).toBe(false);
    expect(passes(stored, { kind: 'brew', device: 'cm-aaaaaaaaaaaaaaaa' }, both)).toBe(true);
    expect(passes(refused, { device: 'cm-aaaaaaaaaaaaaaaa' }, both)).toBe(false);
  });

  it('carries a body only for roles allowed to read bodies', () => {
    expect(toStreamMessage(stored, true)).toMatchObject({ type: 'stored', body: { recipe: 'latte' } });
    expect(toStreamMessage(stored, false)).not.toHaveProperty('body');
    expect(toStreamMessage(refused, true)).toEqual({
      type: 'refused',
      region: 'us',
      reason: 'schema_invalid',
      deviceId: 'cm-bbbbbbbbbbbbbbbb',
      kind: 'payment',
      at: at.toISOString(),
    });
  });
});

describe('live feed', () => {
  it('tallies committed rows, passes refusals on without their payload and counts residency violations', async () => {
    const feed = new LiveFeed(
      async (deviceId) => (deviceId === 'cm-aaaaaaaaaaaaaaaa' ? 'eu' : 'us'),
      pino({ level: 'silent' }),
      () => at.getTime(),
    );
    const seen: FeedNotice[] = [];
    const stop = feed.subscribe((n) => seen.push(n));
    feed.eventsCommitted('eu', [row('brew', {}), row('brew', {}, 'cm-cccccccccccccccc')]);
    // Ingest hands over quarantined rows, payload included; none may reach a stream.
    const quarantined: QuarantinedRow = {
      receivedAt: at,
      reason: 'schema_invalid',
      deviceId: 'cm-aaaaaaaaaaaaaaaa',
      eventId: null,
      kind: 'payment',
      payload: Buffer.from('owner: Jane'),
    };
    feed.refusalsCommitted('eu', [quarantined]);
    stop();
    feed.eventsCommitted('eu', [row('status', {})]);
    await new Promise((resolve) => setImmediate(resolve));

    expect(seen.map((n) => n.type)).toEqual(['stored', 'stored', 'refused']);
    expect(seen[2]!.row).not.toHaveProperty('payload');
    const tally = feed.tally('eu');
    expect(tally.storedByKind).toEqual({ brew: 2, status: 1 });
    expect(tally.refusedByReason).toEqual({ schema_invalid: 1 });
    expect(tally.residencyViolations).toBe(1);
  });
});

describe('rate window', () => {
  it('counts per whole second over the window and forgets older seconds', () => {
    const window = new RateWindow(3);
    window.add(10_100, 'stored', 4);
    window.add(10_900, 'stored', 1);
    window.add(11_000, 'refused', 2);
    expect(window.samples(12_500)).toEqual([
      { t: 9, stored: 0, refused: 0 },
      { t: 10, stored: 5, refused: 0 },
      { t: 11, stored: 0, refused: 2 },
    ]);
    expect(window.samples(20_000).every((s) => s.stored === 0 && s.refused === 0)).toBe(true);
  });
});

describe('page helpers', () => {
  it('splits server-sent events and keeps an unfinished one for the next chunk', () => {
    const { messages, rest } = parseEvents(': hello\n\nevent: stored\ndata: {"a":1}\n\nevent: refused\ndata: {"b"');
    expect(messages).toEqual(['{"a":1}']);
    expect(parseEvents(`${rest}:2}\n\n`).messages).toEqual(['{"b":2}']);
  });

  it('reads hash routes', () => {
    expect(parseRoute('#/device/cm-aaaaaaaaaaaaaaaa')).toEqual({ page: 'device', id: 'cm-aaaaaaaaaaaaaaaa' });
    expect(parseRoute('#/compliance')).toEqual({ page: 'compliance' });
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/owners')).toEqual({ page: 'owners' });
    expect(parseRoute('#/tour')).toEqual({ page: 'tour', chapter: 1 });
    expect(parseRoute('#/tour/4')).toEqual({ page: 'tour', chapter: 4 });
    expect(parseRoute('#/nothing-here')).toEqual({ page: 'overview' });
  });
});

describe('map groups', () => {
  const at = (id: string, x: number, y: number) => ({ item: id, x, y });

  it('puts machines within a marker of each other into one group, and the rest on their own', () => {
    const groups = clusterPoints([at('a', 100, 100), at('b', 100, 100), at('c', 104, 101), at('d', 300, 100)], 10, (id) => id);
    expect(groups.map((g) => g.members.map((m) => m.item))).toEqual([['a', 'b', 'c'], ['d']]);
    expect(groups[0]).toMatchObject({ key: 'a', x: expect.closeTo(101.33, 1), y: expect.closeTo(100.33, 1) });
  });

  it('pulls them apart when the radius shrinks (zooming in), except those at exactly one place', () => {
    const points = [at('a', 100, 100), at('b', 100, 100), at('c', 104, 101)];
    expect(clusterPoints(points, 10 / 8, (id) => id).map((g) => g.members.length)).toEqual([2, 1]);
  });

  it('spreads a group so no two members share a place', () => {
    const offsets = spreadOffsets(20, 10);
    expect(offsets).toHaveLength(20);
    expect(new Set(offsets.map(([x, y]) => `${x.toFixed(3)},${y.toFixed(3)}`)).size).toBe(20);
    for (const [x, y] of offsets) expect(Math.hypot(x, y)).toBeGreaterThan(10);
  });
});

describe('the leaky demo command', () => {
  const session = { role: 'admin', subject: 'admin', regions: ['eu', 'us'] } as SessionResponse;

  it('uses the broker address the server was told, reached at the page host when it listens everywhere', () => {
    expect(brokerUrlFor('mqtt://0.0.0.0:18830', 'classroom.local')).toBe('mqtt://classroom.local:18830');
    expect(brokerUrlFor('mqtt://127.0.0.1:18830', 'classroom.local')).toBe('mqtt://127.0.0.1:18830');
    expect(brokerUrlFor(null, 'x')).toBeNull();
  });

  it('fills in the API, the token and, for an operator, its region', () => {
    expect(demoCommand(session, 'http://127.0.0.1:8080', 'mqtt://127.0.0.1:1883', 'T0KEN')).toBe(
      'npm run sim -- --broker mqtt://127.0.0.1:1883 --api http://127.0.0.1:8080 --token T0KEN --machines 4 --leaky 1 --duration 120',
    );
    expect(demoCommand({ ...session, role: 'operator', regions: ['us'] }, 'http://h', 'mqtt://b', 'T')).toContain('--token T --regions us --machines');
  });
});

describe('the page wording', () => {
  it('says precision one way everywhere', () => {
    expect(PRECISION_TEXT.coarse).toBe('coarse: city level, ±10 km');
    expect(positionText({ precision: 'coarse', accuracyM: 10_000 })).toBe('coarse: city level, ±10 km');
    expect(positionText({ precision: 'exact', accuracyM: 15.4 })).toBe('exact, ±15 m');
    expect(deviceTimeLabel(360)).toBe('device time (simulated, ×360)');
    expect(deviceTimeLabel(null)).toBe('device time');
  });
});
