import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { loadFleetCredentials } from '../../launcher/fleet-credentials.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { ownerExportSchema, type AuditEntry } from '../../schema/privacy.ts';
import { buildDashboard } from '../../server/dashboard/build.ts';
import { readDirectory, readRegionStore } from '../support/sqlite-stores.ts';
import { waitUntil } from '../support/wait.ts';
import { chromiumAvailable, consentVersionOf, launchChromium, machinesOnPage, ownerRowsOf, signIn, type Browser } from './support.ts';

/**
 * The whole guided tour in a real browser, from the keyboard, against a stack started as
 * `npm start -- --tour` starts it: each chapter's page, highlight and text, its actions through the
 * HTTP API and what they did to the stores, and a restart at a chapter.
 */
const ADMIN = 'browser-tour-admin-token-0123456789';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');

describe.skipIf(!chromiumAvailable())('the guided tour in Chromium', () => {
  let dataDir: string;
  let stack: Stack;
  let browser: Browser;
  let base: string;
  let page: Page;
  let leaky = '';

  const chapter = async (): Promise<number> => Number(await page.locator('aside.tour').getAttribute('data-chapter'));
  /** Next, as a keyboard user presses it: focus starts on the chapter's title, Tab reaches the button. */
  async function next(): Promise<void> {
    const from = await chapter();
    await page.getByRole('button', { name: 'Next →' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(chapter).toBe(from + 1);
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('tour-title');
  }
  const highlighted = (): Promise<string[]> => page.locator('[data-tour-highlight]').evaluateAll((els) => els.map((e) => e.getAttribute('class') ?? e.tagName));
  const api = async <T>(path: string): Promise<T> => (await (await fetch(base + path, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as T;

  beforeAll(async () => {
    await buildDashboard();
    await mkdir(ARTIFACTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-browser-tour-'));
    const config = launcherConfigSchema.parse({
      machines: 9,
      httpPort: 0,
      mqttPort: 0,
      wsPort: 0,
      dataDir,
      seed: 11,
      speed: 20_000,
      logLevel: 'silent',
      adminToken: ADMIN,
      tour: true,
    });
    expect(config.leaky).toBe(1);
    stack = await startStack(config, pino({ level: 'silent' }));
    base = stack.server.httpUrl;
    leaky = (await loadFleetCredentials(join(dataDir, 'fleet-credentials.json'))).find((m) => m.profile === 'leaky')!.deviceId;
    await waitUntil('the leaky machine refused', () => readRegionStore(dataDir, readDirectory(dataDir).devices.get(leaky)!).refusals.length >= 5, 30_000);
    browser = await launchChromium();
    page = await browser.context.newPage();
    await signIn(page, base, ADMIN);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('starts from the Tour entry with the fleet and its regions', async () => {
    await page.getByRole('link', { name: 'Tour' }).click();
    await expect.poll(chapter).toBe(1);
    expect(await page.getByRole('heading', { name: 'The fleet and its regions' }).isVisible()).toBe(true);
    await expect.poll(highlighted).toEqual(expect.arrayContaining(['world', 'cards']));
    expect(await page.locator('aside.tour').textContent()).toMatch(/\d+ in EU, \d+ in US, \d+ in CN/);
    const links = await page.getByRole('navigation', { name: 'Tour chapters' }).getByRole('link').allTextContents();
    expect(links).toHaveLength(5);
  });

  it("chapter 2 opens the leaky machine's page and points at its refusals", async () => {
    await next();
    await page.waitForURL(/#\/tour\/2$/);
    await page.locator('[data-finding="body.ownerName: not allowed"]').first().waitFor();
    expect(await page.getByRole('heading', { name: `Machine ${leaky}` }).isVisible()).toBe(true);
    await expect.poll(highlighted).toEqual([expect.stringContaining('refusals')]);
    expect(await page.locator('aside.tour').textContent()).toContain(`It is ${leaky}.`);
    await page.screenshot({ path: join(ARTIFACTS, 'tour-chapter-2.png') });
  });

  it('chapter 3 withdraws a location consent: the ledger records it and the machine leaves the map', async () => {
    await next();
    const text = page.locator('aside.tour');
    await expect.poll(() => text.textContent()).toMatch(/The highlighted machine, cm-[a-z2-7]+, is on the map/);
    const subject = /machine, (cm-[a-z2-7]+), is on the map/.exec((await text.textContent()) ?? '')![1]!;
    expect(subject).not.toBe(leaky);
    await expect.poll(async () => (await machinesOnPage(page)).onMap).toContain(subject);
    await expect.poll(async () => (await highlighted()).length).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Withdraw its location consent' }).click();
    const done = page.getByRole('status').filter({ hasText: 'recorded at' });
    await done.waitFor();
    const version = Number(/Consent version (\d+)/.exec((await done.textContent()) ?? '')![1]);
    const region = readDirectory(dataDir).devices.get(subject)!;
    expect(consentVersionOf(dataDir, region, subject, version)).toEqual({ location: 'none', actor: 'admin', channel: 'dashboard' });
    await expect.poll(async () => (await machinesOnPage(page)).offMap, { timeout: 10_000 }).toContain(subject);
    expect((await machinesOnPage(page)).onMap).not.toContain(subject);
    // The highlight follows it into the table under the map.
    await expect.poll(() => page.locator(`.off-map tr[data-device="${subject}"][data-tour-highlight]`).count()).toBe(1);
  });

  it('chapter 4 exports one owner as a file, erases them after asking, and shows the audit entries', async () => {
    await next();
    const text = page.locator('aside.tour');
    await expect.poll(() => text.textContent()).toMatch(/The highlighted owner is .+ \(own-[a-z]+-[a-z2-7]{16}\)/);
    const ownerId = /\((own-[a-z]+-[a-z2-7]{16})\)/.exec((await text.textContent()) ?? '')![1]!;
    const region = ownerId.split('-')[1]!;
    await expect.poll(() => page.locator(`tr[data-owner="${ownerId}"][data-tour-highlight]`).count()).toBe(1);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '1. Export (downloads a file)' }).click()]);
    expect(download.suggestedFilename()).toBe(`owner-export-${ownerId}.json`);
    const exported = ownerExportSchema.parse(JSON.parse(await readFile((await download.path())!, 'utf8')));
    expect(exported.owner.id).toBe(ownerId);
    await page.getByRole('status').filter({ hasText: 'Saved owner-export' }).waitFor();

    await page.getByRole('button', { name: '2. Erase…' }).click();
    expect(
      ownerRowsOf(dataDir, region).map((r) => r.id),
      'nothing is erased before the confirmation',
    ).toContain(ownerId);
    await page.getByRole('group', { name: 'Confirm the erasure' }).getByRole('button', { name: 'Erase for good' }).click();
    await page.getByRole('status').filter({ hasText: 'Erased:' }).waitFor();
    expect(ownerRowsOf(dataDir, region).map((r) => r.id)).not.toContain(ownerId);
    for (const device of exported.devices) expect(readDirectory(dataDir).devices.has(device.id), 'the routing entry stays').toBe(true);
    await expect
      .poll(() => page.locator('.tour-audit li[data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action'))))
      .toEqual(expect.arrayContaining(['owner.erase', 'owner.export', 'owner.create']));
    const log = await api<{ entries: AuditEntry[] }>(`/api/v1/audit?region=${region}&newest=true&limit=5&target=${ownerId}`);
    expect(log.entries.at(-1)).toMatchObject({ action: 'owner.erase', actor: 'admin' });
    await expect.poll(() => page.locator(`tr[data-owner="${ownerId}"]`).count(), { timeout: 10_000 }).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'tour-chapter-4.png') });
  });

  it('chapter 5 points at the per-region stores of the compliance report, and the tour ends on the overview', async () => {
    await next();
    await page.locator('[data-compliance="ready"]').waitFor();
    await expect.poll(highlighted).toEqual(['wide-table']);
    expect(await page.getByRole('button', { name: 'Next →' }).count()).toBe(0);
    await page.getByRole('link', { name: 'End the tour' }).click();
    await page.locator('.map .world').waitFor();
    expect(await page.locator('aside.tour').count()).toBe(0);
  });

  it('restarts at any chapter: the erased owner is replaced by another on a restart of chapter 4', async () => {
    await page.goto(`${base}/#/tour/4`);
    await expect.poll(chapter).toBe(4);
    const text = page.locator('aside.tour');
    await page.getByRole('status').filter({ hasText: 'Erased:' }).waitFor();
    const before = /\((own-[a-z]+-[a-z2-7]{16})\)/.exec((await text.textContent()) ?? '')![1]!;
    await page.getByRole('button', { name: 'Restart this chapter' }).click();
    // While the chapter looks for another owner there is none; then a new one, not the erased one.
    await expect
      .poll(async () => {
        const found = /\((own-[a-z]+-[a-z2-7]{16})\)/.exec((await text.textContent()) ?? '')?.[1];
        return found !== undefined && found !== before;
      })
      .toBe(true);
    await expect.poll(() => page.getByRole('button', { name: '1. Export (downloads a file)' }).isEnabled()).toBe(true);
    await page.getByRole('link', { name: 'The leaky machine, refused at the door' }).click();
    await expect.poll(chapter).toBe(2);
    await page.getByRole('link', { name: 'Leave the tour' }).click();
    // The link changes the route; the panel goes with the next render, not within the click.
    await expect.poll(() => page.locator('aside.tour').count()).toBe(0);
  });
});
