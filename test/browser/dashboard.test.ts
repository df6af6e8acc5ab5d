import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { buildDashboard } from '../../server/dashboard/build.ts';
import type { FleetDeviceDetail, FleetResponse, StreamMessage } from '../../server/dashboard/dashboard-api.ts';
import { parseEvents } from '../../server/dashboard/web/sse.ts';
import { readDirectory } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';
import { chromiumAvailable, consentVersionOf, launchChromium, machinesOnPage, signIn as signInAt, storedEventsOf, type Browser } from './support.ts';

/**
 * The dashboard in a real browser against a real stack (server, aedes broker, simulated fleet over
 * three regions): machines appear, a location consent flipped in the page stops location events in
 * the store, and a regional operator sees only its region, in the page and at the API.
 */
const ADMIN = 'browser-admin-token-0123456789';
const OPERATOR_US = 'browser-operator-us-0123456789';
const AUDITOR = 'browser-auditor-token-0123456789';
const MACHINES = 9;
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const run = promisify(execFile);
/** The simulator reports a location every 6 simulated hours; two periods without one prove they stopped. */
const TWO_LOCATION_PERIODS_MS = 12 * 3_600_000;

describe.skipIf(!chromiumAvailable())('dashboard in Chromium', () => {
  let dataDir: string;
  let stack: Stack;
  let browser: Browser;
  let base: string;

  const api = async <T>(path: string, token: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const response = await fetch(base + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    return { status: response.status, body: (await response.json()) as T };
  };

  /**
   * The first `count` messages of a live stream, parsed as the page parses them, on a connection of
   * its own that is destroyed afterwards (an aborted fetch can leave a pooled socket behind).
   */
  function streamMessages(token: string, count: number, query = ''): Promise<StreamMessage[]> {
    return new Promise((resolve, reject) => {
      const messages: StreamMessage[] = [];
      const request = get(`${base}/api/v1/stream${query}`, { headers: { authorization: `Bearer ${token}` }, agent: false }, (response) => {
        if (!String(response.headers['content-type']).includes('text/event-stream')) reject(new Error(`stream answered ${response.statusCode}`));
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          const parsed = parseEvents(buffer + chunk);
          buffer = parsed.rest;
          messages.push(...parsed.messages.map((m) => JSON.parse(m) as StreamMessage));
          if (messages.length >= count) {
            request.destroy();
            resolve(messages.slice(0, count));
          }
        });
        response.on('end', () => resolve(messages));
      });
      request.on('error', reject);
    });
  }

  const signIn = (page: Page, token: string): Promise<void> => signInAt(page, base, token);
  const shownCount = async (page: Page): Promise<number> => {
    const { onMap, offMap } = await machinesOnPage(page);
    return onMap.length + offMap.length;
  };

  beforeAll(async () => {
    await buildDashboard();
    await mkdir(ARTIFACTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-browser-'));
    stack = await startStack(
      launcherConfigSchema.parse({
        machines: MACHINES,
        leaky: 1,
        httpPort: 0,
        mqttPort: 0,
        wsPort: 0,
        dataDir,
        seed: 11,
        speed: 20_000,
        logLevel: 'silent',
        adminToken: ADMIN,
        tokens: [
          { token: OPERATOR_US, role: 'operator', region: 'us' },
          { token: AUDITOR, role: 'auditor' },
        ],
      }),
      pino({ level: 'silent' }),
    );
    base = stack.server.httpUrl;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('shows every machine, on the map or in the list, with the region panels and the live stream', async () => {
    const page = await browser.context.newPage();
    const offline: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(base)) offline.push(request.url());
    });
    await signIn(page, ADMIN);
    await waitUntil('every machine on the page', async () => (await shownCount(page)) === MACHINES, 20_000);
    await page.locator('.events li').first().waitFor();
    await expect.poll(() => page.locator('.card[data-region]').count()).toBe(3);
    await page.screenshot({ path: join(ARTIFACTS, 'overview.png'), fullPage: true });
    expect(offline, 'the page must load nothing from outside the server').toEqual([]);
    // The tab's icon is served by the server too.
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    const answer = await fetch(base + icon);
    expect([answer.status, answer.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    await page.close();
  });

  it('stops storing location events once location consent is switched off in the page', async () => {
    // A compliant eu machine that location is consented for: its next fixes must then arrive.
    const { body: fleet } = await api<FleetResponse>('/api/v1/fleet', ADMIN);
    const device = fleet.devices.find((d) => d.region === 'eu' && storedEventsOf(dataDir, 'eu', d.id).length > 0);
    if (!device) throw new Error('no eu machine has stored events');
    const put = await api(`/api/v1/devices/${device.id}/consent`, ADMIN, {
      method: 'PUT',
      body: JSON.stringify({ usage: true, location: 'exact', payment: false, diagnostics: true }),
    });
    expect(put.status).toBe(200);
    await waitUntil('a stored location fix', () => storedEventsOf(dataDir, 'eu', device.id).some((e) => e.kind === 'location'), 20_000);

    const page = await browser.context.newPage();
    await signIn(page, ADMIN);
    await page.goto(`${base}/#/device/${device.id}`);
    await page.locator('[data-position="exact"]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'device.png'), fullPage: true });

    await page.getByRole('radio', { name: 'none' }).check();
    const status = page.getByRole('status').filter({ hasText: 'recorded and pushed' });
    await status.waitFor();
    const version = Number(/Consent version (\d+)/.exec((await status.textContent()) ?? '')?.[1]);
    expect(version).toBeGreaterThan(1);
    expect(consentVersionOf(dataDir, 'eu', device.id, version)).toEqual({ location: 'none', actor: 'admin', channel: 'dashboard' });
    await page.locator('[data-position="none"]').waitFor();

    const atFlip = Math.max(...storedEventsOf(dataDir, 'eu', device.id).map((e) => e.deviceTs.getTime()));
    await waitUntil(
      '12 simulated hours of stored events after the flip',
      () => storedEventsOf(dataDir, 'eu', device.id).some((e) => e.deviceTs.getTime() > atFlip + TWO_LOCATION_PERIODS_MS),
      30_000,
    );
    const after = storedEventsOf(dataDir, 'eu', device.id).filter((e) => e.consentVersion >= version);
    expect(after.length, 'the machine kept sending other events').toBeGreaterThan(0);
    expect(after.filter((e) => e.kind === 'location')).toEqual([]);

    await page.goto(`${base}/#/`);
    await page.locator(`.off-map [data-device="${device.id}"]`).waitFor();
    expect((await machinesOnPage(page)).onMap).not.toContain(device.id);
    await page.close();
  });

  it('shows a regional operator its own region only, in the page and at the API', async () => {
    const { body: all } = await api<FleetResponse>('/api/v1/fleet', ADMIN);
    const us = all.devices
      .filter((d) => d.region === 'us')
      .map((d) => d.id)
      .sort();
    const foreign = all.devices.find((d) => d.region === 'eu');
    if (!foreign || us.length === 0) throw new Error('the fleet does not span eu and us');

    const page = await browser.context.newPage();
    await signIn(page, OPERATOR_US);
    await waitUntil('the us machines on the page', async () => (await shownCount(page)) === us.length, 20_000);
    const { onMap, offMap } = await machinesOnPage(page);
    expect([...onMap, ...offMap].sort()).toEqual(us);
    expect(await page.locator('.card[data-region]').evaluateAll((els) => els.map((e) => e.getAttribute('data-region')))).toEqual(['us']);
    await page.screenshot({ path: join(ARTIFACTS, 'operator-us.png'), fullPage: true });

    await page.goto(`${base}/#/device/${foreign.id}`);
    await page.getByRole('alert').filter({ hasText: 'REGION_FORBIDDEN' }).waitFor();
    await page.close();

    const fleet = await api<FleetResponse>('/api/v1/fleet', OPERATOR_US);
    expect(fleet.body.devices.every((d) => d.region === 'us')).toBe(true);
    expect((await api(`/api/v1/fleet/${foreign.id}`, OPERATOR_US)).status).toBe(403);
    expect((await api('/api/v1/stream?region=eu', OPERATOR_US)).status).toBe(403);
    const live = await streamMessages(OPERATOR_US, 5);
    expect(live.map((m) => m.type !== 'skipped' && m.region)).toEqual(Array(5).fill('us'));
  });

  it('shows an auditor every device but no event bodies', async () => {
    const { body: admin } = await api<FleetResponse>('/api/v1/fleet', ADMIN);
    const { status, body } = await api<FleetResponse>('/api/v1/fleet', AUDITOR);
    expect(status).toBe(200);
    expect(body.devices.length).toBe(MACHINES);
    expect(admin.devices.some((d) => d.location !== null || d.consumables !== null)).toBe(true);
    expect(body.devices.every((d) => d.location === null && d.consumables === null)).toBe(true);
    // A machine that has brewed by now (which one depends on the fleet's pace on a loaded machine).
    let recent: FleetDeviceDetail['recent'] = [];
    await expect
      .poll(
        async () => {
          for (const device of body.devices) {
            recent = (await api<FleetDeviceDetail>(`/api/v1/fleet/${device.id}`, AUDITOR)).body.recent;
            if (recent.length > 0) return true;
          }
          return false;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    expect(recent.every((e) => e.body === undefined)).toBe(true);
    const live = (await streamMessages(AUDITOR, 5, '?kind=status')).filter((m) => m.type === 'stored');
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((m) => m.kind === 'status' && m.body === undefined)).toBe(true);
    const adminLive = (await streamMessages(ADMIN, 3, '?kind=status')).filter((m) => m.type === 'stored');
    expect(adminLive.every((m) => m.body !== undefined)).toBe(true);
  });

  it('filters the live stream by a device typed while events keep arriving', async () => {
    const page = await browser.context.newPage();
    await signIn(page, ADMIN);
    await page.locator('.events li').first().waitFor();
    // A machine the stream has just shown: it is brewing, so more of its events will come.
    const id = (await page.locator('.events li a').first().textContent())?.trim() ?? '';
    expect(id).not.toBe('');
    const field = page.getByLabel('Device');
    // Slowly, as a person types: the stream re-renders the page many times meanwhile.
    await field.pressSequentially(id, { delay: 60 });
    await field.press('Enter');
    expect(await field.inputValue()).toBe(id);
    await expect
      .poll(
        async () => {
          const links = await page.locator('.events li a').allTextContents();
          return links.length > 0 && links.every((text) => text === id);
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    await page.close();
  });

  it('works from the keyboard and names every control', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Enter');
    await page.getByText('Signed in as').waitFor();
    await page.locator('.map a[data-device], .map g[data-devices] .handle').first().waitFor();
    const unnamed = await page.locator('input, select, button, a[href]').evaluateAll((els) =>
      els
        .filter((el) => {
          const labelled = (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) && el.labels !== null && el.labels.length > 0;
          return !(labelled || el.getAttribute('aria-label') || el.textContent?.trim());
        })
        .map((el) => el.outerHTML),
    );
    expect(unnamed).toEqual([]);
    // A group of machines at one place opens with the keyboard too, and its members are links.
    const group = page.locator('.map g[data-devices] .handle').first();
    if ((await group.count()) > 0) {
      await group.focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => group.getAttribute('aria-expanded')).toBe('true');
      await page.keyboard.press('Escape');
      await expect.poll(() => group.getAttribute('aria-expanded')).toBe('false');
    }
    const single = page.locator('.map a[data-device]').first();
    if ((await single.count()) > 0) await single.focus();
    else {
      await group.focus();
      await page.keyboard.press('Enter');
      await page.locator('.map g.open a[data-device]').first().focus();
    }
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/device\//);
    await page.getByRole('heading', { name: /^Machine / }).waitFor();
    await page.close();
  });

  it('renders the compliance page, and a leaky device demo command that works as shown', async () => {
    const page = await browser.context.newPage();
    await signIn(page, ADMIN);
    await page.goto(`${base}/#/compliance`);
    await page.locator('[data-compliance="ready"]').waitFor();
    expect(await page.locator('.verdict').textContent()).toContain('Every invariant holds.');
    await page.screenshot({ path: join(ARTIFACTS, 'compliance.png'), fullPage: true });
    await page.goto(`${base}/#/demo`);
    await expect.poll(() => page.locator('pre code').textContent()).toContain('--leaky 1');
    expect(await page.locator('pre code').textContent(), 'the token stays masked until asked for').not.toContain(ADMIN);
    await page.screenshot({ path: join(ARTIFACTS, 'leaky-demo.png'), fullPage: true });
    await page.getByRole('button', { name: 'Show token' }).click();
    const command = (await page.locator('pre code').textContent()) ?? '';
    await page.close();
    // This stack's own broker port (picked at random) and API, and a token that provisions.
    expect(command).toBe(`npm run sim -- --broker ${stack.mqttUrl} --api ${base} --token ${ADMIN} --machines 4 --leaky 1 --duration 120`);

    // Run as a class would, two minutes cut to three seconds: its machines join this stack.
    const before = readDirectory(dataDir).devices.size;
    const refusedBefore = stack.server.stats().refusedByReason.schema_invalid ?? 0;
    const args = command
      .replace(/^npm run sim -- /, '')
      .replace('--duration 120', '--duration 3')
      .split(' ');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'firmware-sim/cli.ts', ...args], { timeout: 60_000 });
    expect(stdout).toMatch(/machines=4 connected=4/);
    expect(readDirectory(dataDir).devices.size).toBe(before + 4);
    await waitUntil('the new leaky machine refused', () => (stack.server.stats().refusedByReason.schema_invalid ?? 0) > refusedBefore, 20_000);
  });
});
