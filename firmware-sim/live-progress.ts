/**
 * Progress of long work on a terminal or into a log: on a TTY one line rewritten in place, otherwise
 * one plain line each time. Used by `npm run sim` and `npm start` alike, for provisioning and
 * connecting (counts and rate) and for the running fleet.
 */
export interface LiveLine {
  show(text: string): void;
  /** Ends the line being rewritten, so what follows starts on a line of its own. */
  end(): void;
}

export function liveLine(stream: NodeJS.WriteStream): LiveLine {
  const inPlace = stream.isTTY === true;
  let open = false;
  return {
    show(text) {
      if (inPlace) {
        stream.write(`\r${text}\u001b[K`);
        open = true;
      } else stream.write(`${text}\n`);
    },
    end() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}

/** Per second over the last interval asked about: the rate of a count that only grows. */
export class RateMeter {
  private lastAt = performance.now();
  private lastCount = 0;

  perSecond(count: number, now: number = performance.now()): number {
    const seconds = (now - this.lastAt) / 1000;
    const rate = seconds > 0 ? Math.max(0, count - this.lastCount) / seconds : 0;
    this.lastAt = now;
    this.lastCount = count;
    return rate;
  }
}

/** `provisioning 2000/10000 (1250/s)`, the shape every startup phase is shown in. */
export const phaseProgress = (phase: string, done: number, total: number, perSecond: number): string =>
  `${phase} ${done}/${total} (${Math.round(perSecond)}/s)`;

/** Seconds from `startedAt` until everything connected, or `-` while not all are (or never were). */
export const connectSeconds = (startedAt: number, allConnectedAt: number | null): string =>
  allConnectedAt === null ? '-' : ((allConnectedAt - startedAt) / 1000).toFixed(1);
