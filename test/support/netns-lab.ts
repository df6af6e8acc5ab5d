import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitUntil } from './wait.ts';

const run = promisify(execFile);

/**
 * A test network of our own: one Linux network namespace per host, each joined to a router
 * namespace by a veth pair on a /24 of its own, so every host's interface carries only the packets
 * to and from that host (a bridge would flood frames to every port until it learns addresses, and a
 * capture would see other hosts' bytes). Made by the test, torn down by it; nothing outside the
 * namespaces is touched.
 */
export interface LabHost {
  name: string;
  /** The namespace, for `ip netns exec`. */
  netns: string;
  /** The host's own address on its link. */
  address: string;
  /** Its end of the veth pair, inside its namespace: what a capture listens on. */
  iface: string;
}

export interface Capture {
  /** Stops tcpdump once it has written what it saw; resolves with the pcap file. */
  stop(): Promise<string>;
}

export interface NetnsLab {
  hosts: Record<string, LabHost>;
  /** Runs a command on a host and waits for it. */
  exec(host: string, command: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** `['ip', 'netns', 'exec', NS]`, for a command line that starts its own process there. */
  via(host: string): readonly string[];
  /** Every packet on the host's interface, whole, into a pcap file under `dir`. */
  capture(host: string, dir: string): Promise<Capture>;
  teardown(): Promise<void>;
}

/** Why this machine cannot build a lab (not root, no `ip netns`, no tcpdump), or null when it can. */
export async function labUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const tool of ['/usr/sbin/ip', '/usr/bin/tcpdump']) {
    try {
      await access(tool);
    } catch {
      return `${tool} is missing (Debian packages iproute2 and tcpdump)`;
    }
  }
  const probe = `bt-probe-${process.pid}`;
  try {
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'del', probe]);
  } catch (error) {
    return `ip netns add failed: ${(error as Error).message.split('\n')[0]}`;
  }
  return null;
}

const ip = (...args: string[]) => run('ip', args);
/**
 * The lab speaks IPv4 only: without IPv6 a link coming up sends no router solicitations or
 * neighbour discovery, so every frame a capture holds is ARP or a packet a test's hosts sent.
 * Set before the namespace gets its interface, so the interface inherits it.
 */
const noIpv6 = (netns: string) =>
  run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);

export async function createLab(hostNames: readonly string[]): Promise<NetnsLab> {
  // Unique per process, so labs of parallel test files (or runs) never share a name or a subnet.
  const tag = (process.pid % 10_000).toString(36);
  const net = 100 + (process.pid % 100);
  const router = `bt-${tag}-router`;
  const made: string[] = [];
  const hosts: Record<string, LabHost> = {};
  const teardown = async (): Promise<void> => {
    // Deleting a namespace deletes the veth ends inside it, and with them their peers.
    for (const netns of made.splice(0).reverse()) await ip('netns', 'del', netns).catch(() => undefined);
  };
  try {
    await ip('netns', 'add', router);
    made.push(router);
    await noIpv6(router);
    await ip('-n', router, 'link', 'set', 'lo', 'up');
    await run('ip', ['netns', 'exec', router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    for (const [i, name] of hostNames.entries()) {
      const netns = `bt-${tag}-${name}`;
      const iface = `bt${tag}h${i}`;
      const routerSide = `bt${tag}r${i}`;
      const subnet = `10.${net}.${i + 1}`;
      await ip('netns', 'add', netns);
      made.push(netns);
      await noIpv6(netns);
      await ip('link', 'add', iface, 'netns', netns, 'type', 'veth', 'peer', 'name', routerSide, 'netns', router);
      await ip('-n', netns, 'link', 'set', 'lo', 'up');
      await ip('-n', netns, 'addr', 'add', `${subnet}.2/24`, 'dev', iface);
      await ip('-n', netns, 'link', 'set', iface, 'up');
      await ip('-n', router, 'addr', 'add', `${subnet}.1/24`, 'dev', routerSide);
      await ip('-n', router, 'link', 'set', routerSide, 'up');
      await ip('-n', netns, 'route', 'add', 'default', 'via', `${subnet}.1`);
      hosts[name] = { name, netns, address: `${subnet}.2`, iface };
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  const hostOf = (name: string): LabHost => {
    const host = hosts[name];
    if (!host) throw new Error(`no host ${name} in this lab`);
    return host;
  };
  return {
    hosts,
    exec: (host, command, args) => run('ip', ['netns', 'exec', hostOf(host).netns, command, ...args], { maxBuffer: 64 * 1024 * 1024 }),
    via: (host) => ['ip', 'netns', 'exec', hostOf(host).netns],
    async capture(host, dir) {
      const { netns, iface, name } = hostOf(host);
      const file = join(dir, `${name}.pcap`);
      // --immediate-mode: each packet handed over as it arrives, not when the kernel's buffer block
      // times out (about a second), so the last packets before a stop are not lost with the block;
      // -U: written packet by packet, so what was seen is on disk when tcpdump is told to stop.
      const args = ['tcpdump', '-i', iface, '-s', '0', '--immediate-mode', '-U', '-n', '-w', file];
      const tcpdump: ChildProcess = spawn('ip', ['netns', 'exec', netns, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      tcpdump.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const exited = new Promise<void>((resolve) => tcpdump.once('exit', () => resolve()));
      await waitUntil(`tcpdump listening on ${iface}`, () => stderr.includes('listening on') || tcpdump.exitCode !== null, 10_000);
      if (tcpdump.exitCode !== null) throw new Error(`tcpdump on ${iface} failed: ${stderr}`);
      return {
        async stop() {
          tcpdump.kill('SIGINT');
          await exited;
          return file;
        },
      };
    },
    teardown,
  };
}
