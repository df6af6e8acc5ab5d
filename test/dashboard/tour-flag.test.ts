import { describe, expect, it } from 'vitest';
import { readLauncherConfig } from '../../launcher/flags.ts';

describe('npm start -- --tour', () => {
  it('is off by default and on with the flag', () => {
    expect(readLauncherConfig([], {})).toMatchObject({ config: { tour: false } });
    expect(readLauncherConfig(['--tour'], {})).toMatchObject({ config: { tour: true, leaky: 1 } });
  });

  it('needs a fleet with the leaky machine in it, and says so by flag', () => {
    expect(readLauncherConfig(['--tour', '--machines', '0'], {})).toEqual({ help: false, error: '--tour: the tour needs a fleet of at least 2 machines' });
    expect(readLauncherConfig(['--tour', '--leaky', '0'], {})).toEqual({
      help: false,
      error: '--tour: the tour shows the leaky machine: --leaky must be at least 1',
    });
  });
});
