/**
 * `npm run schema:export`: writes one JSON Schema file per wire type, for clients not written in
 * TypeScript. The zod schemas stay the single source of truth; these files are generated.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { consentRecordSchema } from './consent.ts';
import { eventEnvelopeSchema } from './events.ts';
import { errorBodySchema, provisionDeviceRequestSchema, provisionDeviceResponseSchema } from './api.ts';
import { complianceReportSchema, ownerExportSchema } from './privacy.ts';
import { configJsonSchema } from '../launcher/config-cli.ts';
import { scenarioJsonSchema } from '../launcher/scenario-cli.ts';

const WIRE_TYPES: Record<string, z.ZodType> = {
  'event-envelope': eventEnvelopeSchema,
  'consent-record': consentRecordSchema,
  'error-body': errorBodySchema,
  'provision-device-request': provisionDeviceRequestSchema,
  'provision-device-response': provisionDeviceResponseSchema,
  /** The data-subject export (GET /api/v1/owners/:id/export), format brewtel.owner-export.v1. */
  'owner-export': ownerExportSchema,
  'compliance-report': complianceReportSchema,
};

const { values } = parseArgs({ options: { out: { type: 'string', default: 'schema/json' } } });
const outDir = resolve(values.out);
await mkdir(outDir, { recursive: true });
for (const [name, schema] of Object.entries(WIRE_TYPES)) {
  const document = { $id: `urn:brewtel:schema:v1:${name}`, ...z.toJSONSchema(schema, { io: 'input' }) };
  const file = resolve(outDir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
// Not a wire type: the settings file of brewtel start (brewtel.config.json|yaml), also `brewtel config schema`.
const configFile = resolve(outDir, 'brewtel-config.json');
await writeFile(configFile, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${configFile}`);
const scenarioFile = resolve(outDir, 'brewtel-scenario.json');
await writeFile(scenarioFile, `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
console.log(`wrote ${scenarioFile}`);
