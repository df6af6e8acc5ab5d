import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, or a skip outside CI; under CI=true a missing browser fails the suite. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing and CI=true requires it (apt-get install chromium)`);
  return false;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless, offline-minded Chromium with a fresh profile folder, removed on close. */
export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'brewtel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface StoredEvent {
  id: string;
  deviceId: string;
  kind: string;
  consentVersion: number;
  deviceTs: Date;
}

/** A device's events as its home-region SQLite store holds them, read past the server. */
export function storedEventsOf(dataDir: string, region: string, deviceId: string): StoredEvent[] {
  const db = new Database(join(dataDir, `${region}.db`), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT id, deviceId, kind, consentVersion, deviceTs FROM Event WHERE deviceId = ?').all(deviceId) as {
      id: string;
      deviceId: string;
      kind: string;
      consentVersion: number;
      deviceTs: string;
    }[];
    return rows.map((r) => ({ ...r, deviceTs: new Date(r.deviceTs) }));
  } finally {
    db.close();
  }
}

/** One version of a device's consent ledger, as its home-region store holds it. */
export function consentVersionOf(
  dataDir: string,
  region: string,
  deviceId: string,
  version: number,
): { location: string; actor: string; channel: string } | undefined {
  const db = new Database(join(dataDir, `${region}.db`), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT location, actor, channel FROM ConsentRecord WHERE deviceId = ? AND version = ?').get(deviceId, version) as
      | { location: string; actor: string; channel: string }
      | undefined;
  } finally {
    db.close();
  }
}

/** Every machine the overview shows: single markers, the members of grouped markers, and the rows of the table under the map. */
export async function machinesOnPage(page: Page): Promise<{ onMap: string[]; offMap: string[] }> {
  const singles = await page.locator('.map a[data-device]').evaluateAll((els) => els.map((e) => e.getAttribute('data-device') ?? ''));
  const grouped = await page.locator('.map g[data-devices]').evaluateAll((els) => els.flatMap((e) => (e.getAttribute('data-devices') ?? '').split(' ')));
  const offMap = await page.locator('.off-map tr[data-device]').evaluateAll((els) => els.map((e) => e.getAttribute('data-device') ?? ''));
  return { onMap: [...new Set([...singles, ...grouped])], offMap };
}

export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as').waitFor();
}

/** Owner rows per region store, read past the server. */
export function ownerRowsOf(dataDir: string, region: string): { id: string }[] {
  const db = new Database(join(dataDir, `${region}.db`), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id FROM Owner').all() as { id: string }[];
  } finally {
    db.close();
  }
}
