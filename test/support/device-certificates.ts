import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DEV_CA = join(import.meta.dirname, '../../broker/dev-ca.sh');

export const opensslPresent = spawnSync('openssl', ['version']).status === 0;

/** A development CA with the broker's server certificate in `dir` (broker/dev-ca.sh, no device yet). */
export function makeDevCa(dir: string): void {
  const made = spawnSync(DEV_CA, [dir], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`broker/dev-ca.sh failed: ${made.stderr}`);
}

/**
 * A client certificate for `deviceId` (its CN) from the CA in `dir`, as dev-ca.sh issues them, for a
 * device whose id the plane minted after the CA was made: `dir/DEVICE_ID.crt` and `.key`.
 */
export function issueDeviceCertificate(dir: string, deviceId: string): void {
  const file = (ext: string): string => join(dir, `${deviceId}.${ext}`);
  writeFileSync(file('ext'), 'extendedKeyUsage=clientAuth\n');
  const steps: string[][] = [
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${deviceId}`, '-keyout', file('key'), '-out', file('csr')],
    [
      'x509',
      '-req',
      '-in',
      file('csr'),
      '-CA',
      join(dir, 'ca.crt'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      file('ext'),
      '-out',
      file('crt'),
    ],
  ];
  for (const args of steps) {
    const run = spawnSync('openssl', args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`);
  }
  for (const ext of ['csr', 'ext']) rmSync(file(ext));
}
