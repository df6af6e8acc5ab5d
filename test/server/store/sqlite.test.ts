import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeStoreContract } from './region-store.contract.ts';

describeStoreContract('sqlite (embedded default)', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'brewtel-store-'));
  return {
    // The data folder does not exist yet: opening must create it.
    options: { regions: ['eu', 'us'], dataDir: path.join(dataDir, 'data'), stores: {} },
    dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});
