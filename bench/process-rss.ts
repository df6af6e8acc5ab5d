import { readFileSync } from 'node:fs';

/** Resident memory of another process in MB, from /proc/<pid>/status (VmRSS); null once it is gone or without /proc. */
export function processRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** The open-file limit of this process (and so of the children it starts), from /proc/self/limits; null where unknown. */
export function openFileLimit(): number | null {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft === undefined ? null : Number(soft);
  } catch {
    return null;
  }
}

/** Peak and last RSS of one process, sampled by whoever calls sample(). */
export class RssTracker {
  peakMb = 0;
  lastMb = 0;

  constructor(
    readonly name: string,
    private readonly pid: () => number | undefined,
  ) {}

  sample(): void {
    const mb = processRssMb(this.pid());
    if (mb === null) return;
    this.lastMb = mb;
    this.peakMb = Math.max(this.peakMb, mb);
  }
}
