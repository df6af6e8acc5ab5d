import v8 from 'node:v8';
import vm from 'node:vm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../bench/ingest-event-ids.ts';
import { ownerExportSchema, type Owner } from '../../schema/privacy.ts';
import { connectStore, type StoreDb } from '../../server/store/connect.ts';
import { createRegionStore } from '../../server/store/region-store.ts';
import { parseStoreUrl } from '../../server/store/store-url.ts';
import type { EventRow } from '../../server/store/types.ts';
import { ALL_CONSENT } from '../server/app/helpers.ts';
import { validEvents } from '../schema/samples.ts';
import { ADMIN, startPrivacyStack, type PrivacyStack } from './fixture.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const EVENTS = 50_000;
const MB = 1024 * 1024;
/**
 * The whole document is ~16 MB of JSON: holding it at once, even only as one finished string, grows
 * the live heap by that much (measured: 17 MB). Streamed, what is live at any moment is a few pages
 * (measured: under 2 MB).
 */
const MAX_LIVE_GROWTH = 8 * MB;

/** Occurrences of `needle` in a stream of text chunks, including those split across two chunks. */
function counter(needle: string): { feed(text: string): void; readonly count: number } {
  let carry = '';
  let count = 0;
  return {
    feed(text) {
      const s = carry + text;
      for (let at = s.indexOf(needle); at !== -1; at = s.indexOf(needle, at + 1)) count++;
      carry = s.slice(-(needle.length - 1));
    },
    get count() {
      return count;
    },
  };
}

describe('the owner export is streamed', () => {
  let stack: PrivacyStack;
  let db: StoreDb;
  let owner: Owner;
  let deviceId = '';

  beforeAll(async () => {
    stack = await startPrivacyStack('sqlite');
    owner = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: 'Heavy User', contact: 'heavy@export.example' })).json as Owner;
    deviceId = ((await stack.api('POST', '/api/v1/devices', ADMIN, { region: 'eu', consent: ALL_CONSENT })).json as { id: string }).id;
    expect((await stack.api('POST', `/api/v1/owners/${owner.id}/devices`, ADMIN, { deviceId })).status).toBe(200);
    db = await connectStore(parseStoreUrl(stack.storeUrls.eu!), pino({ level: 'silent' }));
    const store = createRegionStore('eu', db);
    const start = Date.now() - EVENTS * 1_000;
    const body = JSON.stringify(validEvents.brew.body);
    for (let i = 0; i < EVENTS; i += 1_000) {
      const rows: EventRow[] = Array.from({ length: 1_000 }, (_, j) => {
        // Three events share each device time, so pages (500 rows) end inside a tie: the cursor breaks it by id.
        const at = new Date(start + Math.floor((i + j) / 3) * 1_000);
        return { id: uuidv7(at.getTime()), deviceId, kind: 'brew', seq: i + j + 1, deviceTs: at, receivedAt: at, consentVersion: 1, body };
      });
      await store.insertEvents(rows);
    }
  }, 120_000);

  afterAll(async () => {
    await db?.client.$disconnect();
    await stack?.close();
  });

  it(`sends ${EVENTS.toLocaleString('en-US')} events without holding them in memory, and waits for a slow reader`, async () => {
    gc();
    const baseline = process.memoryUsage().heapUsed;
    const response = await fetch(`${stack.server.httpUrl}/api/v1/owners/${owner.id}/export`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const events = counter(`"deviceId":"${deviceId}","kind":"brew","seq":`);
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    let bytes = 0;
    let sinceSample = 0;
    let maxGrowth = 0;
    let head = '';
    let tail = '';
    const sample = (): void => {
      gc();
      maxGrowth = Math.max(maxGrowth, process.memoryUsage().heapUsed - baseline);
    };
    for (let chunks = 0; ; chunks++) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (head.length < 200) head += text.slice(0, 200);
      tail = (tail + text).slice(-200);
      events.feed(text);
      bytes += value.length;
      sinceSample += value.length;
      if (sinceSample > MB) {
        sinceSample = 0;
        sample();
      }
      // A reader that stops for a while: the server must wait for it, not read ahead into memory.
      if (chunks === 20) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        sample();
      }
    }
    sample();
    expect(bytes).toBeGreaterThan(15 * MB);
    expect(events.count).toBe(EVENTS);
    expect(head).toMatch(/^\{"format":"brewtel\.owner-export\.v1"/);
    expect(tail).toMatch(/\]\}$/);
    expect(maxGrowth).toBeLessThan(MAX_LIVE_GROWTH);
  }, 120_000);

  it('is one valid brewtel.owner-export.v1 document', async () => {
    // A second, smaller owner: the document parses and matches the schema as a whole.
    const small = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: 'Light User', contact: 'light@export.example' })).json as Owner;
    const response = await stack.api('GET', `/api/v1/owners/${small.id}/export`, ADMIN);
    expect(response.status).toBe(200);
    expect(ownerExportSchema.parse(response.json)).toMatchObject({ owner: { id: small.id, name: 'Light User' }, devices: [] });
  });
});
