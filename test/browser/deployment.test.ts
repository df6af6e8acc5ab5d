import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startPlanes, type RunningPlanes } from '../../launcher/planes.ts';
import { directoryProvisionResponseSchema } from '../../schema/directory.ts';
import { ownerSchema, type Owner } from '../../schema/privacy.ts';
import { buildDashboard } from '../../server/dashboard/build.ts';
import { chromiumAvailable, launchChromium, machinesOnPage, signIn, type Browser } from './support.ts';

/**
 * The deployment overview the directory serves, in a real browser, over real plane processes and a
 * real directory (`npm start -- --planes` without a fleet): each plane's health and counts come from
 * the directory, personal data only from a plane's own dashboard and API, and a plane stopped shows
 * down while the other stays up.
 */
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'deployment');

describe.skipIf(!chromiumAvailable())('deployment overview in Chromium', () => {
  let dataDir = '';
  let planes: RunningPlanes | null = null;
  let browser: Browser;
  let page: Page;
  const requests: Request[] = [];
  const devices: { id: string; region: string }[] = [];
  let owner: Owner;

  const api = async (url: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${planes!.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.status).toBeLessThan(300);
    return response.json();
  };
  const plane = (region: string) => planes!.planes.find((p) => p.region === region)!;
  const origin = (url: string): string => new URL(url).origin;
  /** Personal data of the fleet: none of it may reach the overview, in its page or in any answer it read. */
  const personal = (): string[] => [...devices.map((d) => d.id), owner.id, owner.name, owner.contact, owner.pseudonym];

  beforeAll(async () => {
    await buildDashboard();
    await mkdir(ARTIFACTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-deployment-'));
    const config = launcherConfigSchema.parse({ regions: ['eu', 'us'], httpPort: 0, mqttPort: 0, dataDir, machines: 0, logLevel: 'warn' });
    planes = await startPlanes(config, process.env, pino({ level: 'silent' }));
    for (const region of ['eu', 'eu', 'us']) {
      const device = directoryProvisionResponseSchema.parse(await api(`${planes.directoryUrl}/api/v1/directory/devices`, { region }));
      devices.push({ id: device.id, region });
    }
    owner = ownerSchema.parse(await api(`${plane('eu').httpUrl}/api/v1/owners`, { region: 'eu', name: 'Ilse Overview-Test', contact: 'ilse@example.test' }));
    await api(`${plane('eu').httpUrl}/api/v1/owners/${owner.id}/devices`, { deviceId: devices[0]!.id });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('request', (request) => requests.push(request));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await planes?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const card = (region: string) => page.locator(`.card[data-region="${region}"]`);

  it('shows each plane up with its counts and the deployment’s compliance, all read from the directory, no personal data', async () => {
    const answers: Promise<string>[] = [];
    const onResponse = (response: { url(): string; text(): Promise<string> }) => {
      if (new URL(response.url()).pathname.startsWith('/api/')) answers.push(response.text());
    };
    page.on('response', onResponse);
    await page.goto(`${planes!.directoryUrl}/`);
    await page.getByLabel('API token').fill(planes!.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-compliance="complete"]').waitFor();
    for (const region of ['eu', 'us']) await card(region).locator('[data-health="up"]').waitFor();
    expect(await card('eu').textContent()).toContain('devices (directory)2');
    expect(await card('us').textContent()).toContain('devices (directory)1');
    const euRow = page.locator('tr[data-region="eu"][data-state="available"] td');
    expect([await euRow.nth(0).textContent(), await euRow.nth(1).textContent()]).toEqual(['2', '1']);
    await page.screenshot({ path: join(ARTIFACTS, 'overview-up.png'), fullPage: true });
    page.off('response', onResponse);

    const directoryOrigin = origin(planes!.directoryUrl);
    expect(requests.length).toBeGreaterThan(0);
    expect(new Set(requests.map((r) => origin(r.url())))).toEqual(new Set([directoryOrigin]));
    const apiPaths = new Set(requests.map((r) => new URL(r.url()).pathname).filter((p) => p.startsWith('/api/')));
    expect(apiPaths).toEqual(new Set(['/api/v1/directory/planes', '/api/v1/directory/compliance']));
    const read = [await page.content(), ...(await Promise.all(answers))].join('\n');
    for (const value of personal()) expect(read).not.toContain(value);
  });

  it('links to each plane’s dashboard, which reads its personal data from its own API only', async () => {
    const eu = plane('eu');
    expect(await card('eu').getByRole('link', { name: 'Open the EU plane’s dashboard' }).getAttribute('href')).toBe(`${eu.httpUrl}/`);
    expect(await card('us').getByRole('link').getAttribute('href')).toBe(`${plane('us').httpUrl}/`);
    requests.length = 0;
    await card('eu').getByRole('link').click();
    await page.waitForURL(`${eu.httpUrl}/`);
    await signIn(page, eu.httpUrl, planes!.adminToken);
    const euIds = devices.filter((d) => d.region === 'eu').map((d) => d.id);
    await page.locator(`.off-map tr[data-device="${euIds[1]}"]`).waitFor();
    const shown = await machinesOnPage(page);
    expect(new Set([...shown.onMap, ...shown.offMap])).toEqual(new Set(euIds));
    await page.goto(`${eu.httpUrl}/#/owners`);
    await page.getByText(owner.name).first().waitFor();
    // Every call this page made went to the EU plane itself: nothing relayed by the directory or the US plane.
    expect(new Set(requests.map((r) => origin(r.url())))).toEqual(new Set([origin(eu.httpUrl)]));
    expect(requests.some((r) => new URL(r.url()).pathname === '/api/v1/fleet')).toBe(true);
    // The plane's dashboard leads back to the overview at the directory it was configured with.
    expect(await page.getByRole('link', { name: 'Deployment' }).getAttribute('href')).toBe(`${planes!.directoryUrl}/`);
  });

  it('shows a stopped plane down while the other stays up, and the compliance report incomplete', async () => {
    await plane('us').stop();
    // Signed in already: the tab keeps the directory's token (a key of its own, beside the plane's).
    await page.getByRole('link', { name: 'Deployment' }).click();
    await page.waitForURL(`${planes!.directoryUrl}/`);
    await card('us').locator('[data-health="down"]').waitFor({ timeout: 15_000 });
    await card('eu').locator('[data-health="up"]').waitFor();
    expect(await card('us').getAttribute('data-state')).toBe('down');
    expect(await card('us').textContent()).toContain('events stored–');
    await page.locator('[data-compliance="incomplete"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-region="us"]').getAttribute('data-state')).toBe('unavailable');
    expect(await page.locator('tr[data-region="eu"]').getAttribute('data-state')).toBe('available');
    expect(await page.getByRole('status').textContent()).toContain('1 of 2 planes did not answer');
    await page.screenshot({ path: join(ARTIFACTS, 'overview-us-down.png'), fullPage: true });
  });
});
