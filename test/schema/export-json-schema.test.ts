import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run schema:export', () => {
  let outDir = '';
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('writes a JSON Schema for every wire type, with the five event kinds', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'brewtel-schema-'));
    await run(process.execPath, ['--import', 'tsx', 'schema/export-json-schema.ts', '--out', outDir]);
    expect((await readdir(outDir)).sort()).toEqual([
      'brewtel-config.json',
      'brewtel-scenario.json',
      'compliance-report.json',
      'consent-record.json',
      'error-body.json',
      'event-envelope.json',
      'owner-export.json',
      'provision-device-request.json',
      'provision-device-response.json',
    ]);
    const ownerExport = JSON.parse(await readFile(join(outDir, 'owner-export.json'), 'utf8')) as { properties: { format: { const: string } } };
    expect(ownerExport.properties.format.const).toBe('brewtel.owner-export.v1');
    const envelope = JSON.parse(await readFile(join(outDir, 'event-envelope.json'), 'utf8')) as {
      oneOf?: { properties: { kind: { const: string } } }[];
      anyOf?: { properties: { kind: { const: string } } }[];
    };
    const variants = envelope.oneOf ?? envelope.anyOf ?? [];
    expect(variants.map((v) => v.properties.kind.const).sort()).toEqual(['brew', 'fault', 'location', 'payment', 'status']);
  });
});
