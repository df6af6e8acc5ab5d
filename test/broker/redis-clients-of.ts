import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * The Redis connections one local process holds, as Redis sees them (CLIENT LIST: id, name,
 * channel and pattern subscriptions). Found by the process's sockets: the socket inodes under
 * /proc/<pid>/fd, their local ports in /proc/net/tcp(6), matched to each client's `addr`. Other
 * users of the same Redis (other suites, other runs) do not count, which `PUBSUB NUMPAT` cannot tell.
 */
export interface RedisClient {
  id: string;
  name: string;
  sub: number;
  psub: number;
}

export async function redisClientsOf(pid: number, redis: Redis): Promise<RedisClient[]> {
  const ports = localPortsOf(pid);
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  const clients: RedisClient[] = [];
  for (const line of list.split('\n')) {
    const fields = new Map(
      line
        .trim()
        .split(' ')
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const),
    );
    const addr = fields.get('addr');
    if (addr === undefined || !ports.has(Number(addr.slice(addr.lastIndexOf(':') + 1)))) continue;
    clients.push({ id: fields.get('id') ?? '', name: fields.get('name') ?? '', sub: Number(fields.get('sub')), psub: Number(fields.get('psub')) });
  }
  return clients;
}

function localPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // The descriptor closed meanwhile.
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = row.trim().split(/\s+/);
      if (columns.length > 9 && inodes.has(columns[9]!)) ports.add(Number.parseInt(columns[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}
