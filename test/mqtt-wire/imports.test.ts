import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOM = join(import.meta.dirname, '../../mqtt-wire');

describe('mqtt-wire/ stands alone', () => {
  it('imports only node: modules, mqtt-packet and its own files (no room, not schema/)', () => {
    const foreign: string[] = [];
    for (const file of readdirSync(ROOM).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(ROOM, file), 'utf8');
      for (const [, from] of source.matchAll(/\bfrom\s+'([^']+)'/g)) {
        if (!(from!.startsWith('node:') || from === 'mqtt-packet' || /^\.\/[\w-]+\.ts$/.test(from!))) foreign.push(`${file}: ${from}`);
      }
    }
    expect(foreign).toEqual([]);
  });
});
