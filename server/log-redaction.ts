import type { LoggerOptions } from 'pino';

/**
 * Where the configuration objects of the server, the launcher and the broker keep a secret: tokens,
 * passwords, pseudonym keys, and URLs that may carry a password (stores, directory, Redis).
 */
const CONFIG_SECRETS = [
  'adminToken',
  'brokerToken',
  'token',
  'password',
  'secret',
  'secretHash',
  'authorization',
  'tokens[*].token',
  'mqtt.password',
  'pseudonymSecrets',
  'privacy.pseudonymSecrets',
  'stores',
  'directoryUrl',
  'deviceAuth.token',
  'serviceAccounts[*].password',
  'cluster.redisUrl',
  'broker.deviceAuth.token',
  'broker.serviceAccounts[*].password',
  'broker.cluster.redisUrl',
  'lookupToken',
  'storeUrl',
  'planes[*].token',
];

/**
 * pino `redact` for every logger the entry points make, and for the configuration dump whatever
 * logger a caller of startServer passes in: a config-shaped object, at the top of a line or under
 * `config`, is logged without its secrets. Paths are spelled out (a deep wildcard costs ~30 µs a
 * line on every line); one level of wildcard catches a secret field of any nested object.
 */
export const LOG_REDACTION: NonNullable<LoggerOptions['redact']> = {
  paths: [
    ...CONFIG_SECRETS,
    ...CONFIG_SECRETS.map((path) => `config.${path}`),
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    'headers.cookie',
    '*.token',
    '*.password',
    '*.secret',
  ],
  censor: '[redacted]',
};
