import { describe, expect, it } from 'vitest';
import { readLauncherConfig } from '../../launcher/flags.ts';

describe('API tokens of npm start', () => {
  it('takes --token flags and BREWTEL_TOKENS together', () => {
    const result = readLauncherConfig(['--token', 'operator:eu:operator-eu-token-000000'], {
      BREWTEL_TOKENS: 'auditor:auditor-token-0000000000, admin:second-admin-token-0000',
    });
    expect(result).toMatchObject({
      config: {
        tokens: [
          { role: 'operator', region: 'eu', token: 'operator-eu-token-000000' },
          { role: 'auditor', token: 'auditor-token-0000000000' },
          { role: 'admin', token: 'second-admin-token-0000' },
        ],
      },
    });
  });

  it('names the flag when a token is malformed', () => {
    expect(readLauncherConfig(['--token', 'operator:too-short'], {})).toEqual({ help: false, error: expect.stringMatching(/^--token: /) });
    expect(readLauncherConfig(['--token', 'operator:operator-without-region-000'], {})).toEqual({
      help: false,
      error: expect.stringMatching(/^--token: .*region/),
    });
  });

  it('does not repeat a token in the error when the spec is written the wrong way round', () => {
    const result = readLauncherConfig(['--token', 'Reversed-Secret-Token-0000:auditor'], {});
    expect(result).toEqual({ help: false, error: expect.stringMatching(/^--token: token: /) });
    expect(JSON.stringify(result)).not.toContain('Reversed-Secret-Token-0000');
  });
});
