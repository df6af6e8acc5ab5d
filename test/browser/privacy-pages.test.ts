import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { loadFleetCredentials } from '../../launcher/fleet-credentials.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { ownerExportSchema } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { buildDashboard } from '../../server/dashboard/build.ts';
import { eventOf } from '../server/app/helpers.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';
import { chromiumAvailable, launchChromium, ownerRowsOf, signIn as signInAt, type Browser } from './support.ts';

/**
 * The privacy operations in a real browser against a real stack: the leaky machine's refusals, the
 * owners with export and erasure, the audit log with chain verification, the quarantine page by
 * page, and machines at one place grouped on the map. Every control is named; roles are those of the API.
 */
const ADMIN = 'browser-admin-token-0123456789';
const OPERATOR_US = 'browser-operator-us-0123456789';
const AUDITOR = 'browser-auditor-token-0123456789';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const SAME_PLACE = { lat: 35.6762, lon: 139.6503 };

describe.skipIf(!chromiumAvailable())('privacy pages in Chromium', () => {
  let dataDir: string;
  let stack: Stack;
  let browser: Browser;
  let base: string;
  let leaky = { deviceId: '', region: '' };

  const signIn = (page: Page, token: string): Promise<void> => signInAt(page, base, token);
  const api = async <T>(path: string, token = ADMIN, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(base + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    expect(response.status, path).toBeLessThan(300);
    return (await response.json()) as T;
  };
  /** No input, select, button or link on the page without a name a screen reader can say. */
  async function expectNamedControls(page: Page): Promise<void> {
    const unnamed = await page.locator('input, select, button, a[href], [role="button"]').evaluateAll((els) =>
      els
        .filter((el) => {
          const labelled = (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) && el.labels !== null && el.labels.length > 0;
          return !(labelled || el.getAttribute('aria-label') || el.textContent?.trim());
        })
        .map((el) => el.outerHTML),
    );
    expect(unnamed).toEqual([]);
  }

  beforeAll(async () => {
    await buildDashboard();
    await mkdir(ARTIFACTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-browser-privacy-'));
    stack = await startStack(
      launcherConfigSchema.parse({
        machines: 6,
        leaky: 1,
        httpPort: 0,
        mqttPort: 0,
        wsPort: 0,
        dataDir,
        seed: 23,
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
    const machines = await loadFleetCredentials(join(dataDir, 'fleet-credentials.json'));
    const found = machines.find((m) => m.profile === 'leaky');
    if (!found) throw new Error('the demo fleet has no leaky machine');
    leaky = { deviceId: found.deviceId, region: found.region };
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("shows the leaky machine's refusals with why, what it tried to send by field name, and that nothing was kept", async () => {
    await waitUntil(
      'refusals of the leaky machine',
      () => readRegionStore(dataDir, leaky.region).refusals.filter((r) => r.deviceId === leaky.deviceId).length >= 10,
      30_000,
    );
    const page = await browser.context.newPage();
    await signIn(page, ADMIN);
    await page.goto(`${base}/#/device/${leaky.deviceId}`);
    await page.locator('[data-finding="body.ownerName: not allowed"]').first().waitFor();
    expect(Number(await page.locator('[data-refusals]').getAttribute('data-refusals'))).toBe(10);
    expect(await page.locator('[data-recent="none"]').textContent()).toContain('every message');
    expect(await page.locator('[data-sent] .objected').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('body.ownerName')]));
    expect(await page.locator('[data-kept]').textContent()).toContain('No event');
    // What it sent leaked the owner's e-mail (example.com) and card numbers; the page shows neither.
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's locator, not a DOM node: what the page shows is what matters
    const text = await page.locator('main').innerText();
    expect(text).not.toMatch(/@example\.com/);
    expect(text).not.toMatch(/\d{12}/);
    await page.screenshot({ path: join(ARTIFACTS, 'leaky-device.png'), fullPage: true });
    await expectNamedControls(page);
    await page.close();
  });

  it('creates an owner, attaches a machine, downloads the export and erases the owner after asking', async () => {
    const page = await browser.context.newPage();
    await signIn(page, ADMIN);
    await page.goto(`${base}/#/owners`);
    await page.getByRole('combobox', { name: 'Region' }).selectOption('eu');
    await expect.poll(() => page.locator('tr[data-owner]').count()).toBe(ownerRowsOf(dataDir, 'eu').length);
    await expectNamedControls(page);
    // The table from the keyboard: Tab from the region choice reaches the first owner's rights.
    await page.getByRole('combobox', { name: 'Region' }).focus();
    const firstExport = page
      .locator('tr[data-owner]')
      .first()
      .getByRole('button', { name: /^Export / });
    for (let i = 0; i < 12 && !(await firstExport.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    expect(await firstExport.evaluate((el) => el === document.activeElement)).toBe(true);

    await page.getByLabel('Name').fill('Test Person');
    await page.getByLabel('Contact (e-mail, phone or address)').fill('test.person@example.net');
    await page.getByRole('button', { name: 'Create owner' }).click();
    const created = page.getByRole('status').filter({ hasText: 'created in EU' });
    await created.waitFor();
    const ownerId = /Owner (own-eu-[a-z2-7]+) created/.exec((await created.textContent()) ?? '')?.[1] ?? '';
    const row = page.locator(`tr[data-owner="${ownerId}"]`);
    await row.waitFor();

    const device = (await api<{ devices: { id: string; region: string }[] }>('/api/v1/devices')).devices.find((d) => d.region === 'eu')!.id;
    await page.getByLabel('Owner', { exact: true }).selectOption(ownerId);
    await page.getByLabel('Machine', { exact: true }).selectOption(device);
    await page.getByRole('button', { name: 'Attach' }).click();
    await page.getByRole('status').filter({ hasText: 'now belongs to' }).waitFor();
    await row.getByRole('link', { name: device }).waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Export Test Person' }).click()]);
    expect(download.suggestedFilename()).toBe(`owner-export-${ownerId}.json`);
    const exported = ownerExportSchema.parse(JSON.parse(await readFile((await download.path())!, 'utf8')));
    expect(exported.owner).toMatchObject({ id: ownerId, name: 'Test Person', contact: 'test.person@example.net' });
    expect(exported.devices.map((d) => d.id)).toEqual([device]);

    await row.getByRole('button', { name: 'Erase Test Person' }).click();
    const confirm = page.getByRole('group', { name: 'Confirm erasing Test Person' });
    await confirm.waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'owners.png'), fullPage: true });
    // Asking first: nothing is erased before the second press.
    expect(ownerRowsOf(dataDir, 'eu').map((r) => r.id)).toContain(ownerId);
    await confirm.getByRole('button', { name: 'Erase for good' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Erased ${ownerId}` })
      .waitFor();
    await expect.poll(() => row.count()).toBe(0);
    expect(ownerRowsOf(dataDir, 'eu').map((r) => r.id)).not.toContain(ownerId);
    expect((await fetch(`${base}/api/v1/devices/${device}`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(404);
    await page.close();
  });

  it('keeps owners from roles the API keeps them from, and an operator within its region', async () => {
    const page = await browser.context.newPage();
    await signIn(page, AUDITOR);
    expect(await page.getByRole('navigation', { name: 'Dashboard pages' }).getByRole('link').allTextContents()).toEqual([
      'Overview',
      'Audit log',
      'Compliance report',
      'Leaky device demo',
      'Tour',
    ]);
    await page.goto(`${base}/#/owners`);
    await page.getByText('Your role cannot see owners').waitFor();
    await page.close();
    const operator = await browser.context.newPage();
    await signIn(operator, OPERATOR_US);
    await operator.goto(`${base}/#/owners`);
    expect(await operator.getByRole('combobox', { name: 'Region' }).locator('option').allTextContents()).toEqual(['US']);
    await expect.poll(() => operator.locator('tr[data-owner]').count()).toBe(ownerRowsOf(dataDir, 'us').length);
    await operator.close();
  });

  it("reads a store's audit log from its newest entry, page by page, and verifies every chain", async () => {
    const page = await browser.context.newPage();
    await signIn(page, AUDITOR);
    await page.goto(`${base}/#/audit`);
    await page.getByRole('combobox', { name: 'Store' }).selectOption('eu');
    const seqs = async (): Promise<number[]> => (await page.locator('table.audit tbody tr td:first-child').allTextContents()).map(Number);
    await expect.poll(async () => (await seqs()).length).toBe(25);
    const newest = await seqs();
    expect(newest).toEqual([...newest].sort((a, b) => b - a));
    const { head } = await api<{ head: number }>('/api/v1/audit?region=eu&limit=1', AUDITOR);
    expect(newest[0]).toBeGreaterThanOrEqual(head - 5);
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(async () => (await seqs())[0]).toBe(newest.at(-1)! - 1);
    await page.getByRole('button', { name: 'Verify every chain' }).click();
    await expect.poll(() => page.locator('[data-chain="ok"]').count()).toBe(4);
    await expectNamedControls(page);
    await page.getByRole('button', { name: 'Newest' }).click();
    await expect.poll(async () => (await seqs()).length).toBe(25);
    await page.screenshot({ path: join(ARTIFACTS, 'audit.png') });
    await page.getByRole('combobox', { name: 'Store' }).selectOption(leaky.region);
    await page.getByLabel('About (ids, comma-separated)').fill(leaky.deviceId);
    await page.getByLabel('About (ids, comma-separated)').press('Enter');
    await expect.poll(() => page.locator('table.audit caption').textContent()).toContain(leaky.deviceId);
    // Its provisioning (consent.change) and the reads of its page, nothing about anything else.
    const targets = (): Promise<string[]> => page.locator('table.audit tbody tr td:nth-child(5)').allTextContents();
    // The caption changes before the filtered page arrives: wait for the rows, not the caption.
    await expect.poll(async () => [...new Set(await targets())]).toEqual([leaky.deviceId]);
    expect((await targets()).length).toBeGreaterThan(1);
    await page.close();
  });

  it("pages through a region's quarantine with why each message was refused", async () => {
    await waitUntil('more than a page of refusals', () => readRegionStore(dataDir, leaky.region).refusals.length > 30, 30_000);
    const page = await browser.context.newPage();
    await signIn(page, ADMIN);
    await page.goto(`${base}/#/quarantine`);
    await page.getByRole('combobox', { name: 'Region' }).selectOption(leaky.region);
    const rows = page.locator('tr[data-reason]');
    await expect.poll(() => rows.count()).toBe(25);
    expect(await page.locator('tr[data-reason] [data-finding]').count()).toBeGreaterThan(25);
    expect(await page.locator('tr[data-reason] td:last-child').allTextContents()).toEqual(Array(25).fill('not kept'));
    const ids = async (): Promise<number[]> => await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id'))));
    const firstPage = await ids();
    expect(firstPage).toEqual([...firstPage].sort((a, b) => b - a));
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(() => page.locator('table caption').textContent()).toContain('page 2');
    // The next 25, all older than the last one of page 1.
    await expect.poll(async () => Math.max(...(await ids()))).toBeLessThan(Math.min(...firstPage));
    expect(await ids()).toHaveLength(25);
    await expectNamedControls(page);
    await page.getByRole('button', { name: 'Newest' }).click();
    await expect.poll(() => page.locator('table caption').textContent()).toContain('page 1');
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'quarantine.png') });
    await page.close();
  });

  it('groups machines at one place into one marker with their count, and spreads them on a press', async () => {
    // Three machines of one city reporting the very same exact fix, as real firmware would.
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const device = await api<{ id: string; secret: string }>('/api/v1/devices', ADMIN, {
        method: 'POST',
        body: JSON.stringify({ region: 'cn', consent: { usage: true, location: 'exact', payment: false, diagnostics: true } }),
      });
      const client = await mqtt.connectAsync(stack.mqttUrl, { clientId: device.id, username: device.id, password: device.secret, clean: true });
      const fix = eventOf('location', device.id, new Date(), 1);
      await client.publishAsync(topics.state(device.id), 'online', { qos: 1, retain: true });
      await client.publishAsync(
        topics.event(device.id, 'location'),
        JSON.stringify({ ...fix, consentVersion: 1, body: { precision: 'exact', accuracyM: 12, ...SAME_PLACE } }),
        { qos: 1 },
      );
      await client.endAsync();
      placed.push(device.id);
    }
    const page = await browser.context.newPage();
    await signIn(page, ADMIN);
    const group = page.locator(`.map g[data-devices~="${placed[0]}"]`);
    await group.waitFor({ timeout: 20_000 });
    expect((await group.getAttribute('data-devices'))!.split(' ')).toEqual(expect.arrayContaining(placed));
    expect(await group.locator('text').textContent()).toBe(String((await group.getAttribute('data-devices'))!.split(' ').length));
    // At one place, no zoom pulls them apart: pressing the marker spreads them around it.
    expect(await group.locator('.handle').getAttribute('aria-label')).toContain('press to spread them out');
    await group.locator('.handle').click();
    for (const id of placed) await group.locator(`a[data-device="${id}"]`).waitFor();
    expect(await group.locator('.handle').getAttribute('aria-expanded')).toBe('true');
    // Zooming in goes to the open group; its machines still share one marker there, and spread again.
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await expect.poll(() => group.locator('.handle').getAttribute('aria-expanded')).toBe('false');
    await group.locator('.handle').click();
    for (const id of placed) await group.locator(`a[data-device="${id}"]`).waitFor();
    expect(await page.locator('.legend').textContent()).toContain('machines at one place');
    await page.locator('.map').screenshot({ path: join(ARTIFACTS, 'map-spread.png') });
    await group.locator(`a[data-device="${placed[1]}"]`).click();
    await page.waitForURL(new RegExp(`#/device/${placed[1]}$`));
    await page.close();
  });
});
