/**
 * Runs one scenario (launcher/scenario-schema.ts) on a harness: provisions its device groups, plays
 * its steps in order, checks the expectations of each step and those at the end, and returns what
 * happened. It never throws for a scenario that fails; only a harness that cannot start rejects.
 */
import type { CommandResult } from '../schema/commands.ts';
import type { RegionId } from '../schema/regions.ts';
import { createHarness, type HarnessOptions } from './harness.ts';
import { connectHarness, type RemoteTarget } from './remote-harness.ts';
import { judge, percentiles, type Facts, type Judgement, type Percentiles } from './scenario-judge.ts';
import type { Scenario, ScenarioStep, StepAction } from './scenario-schema.ts';

export interface StepOutcome {
  name: string;
  /** Milliseconds since the fleet was up, when the step began and how long it took. */
  startedAtMs: number;
  durationMs: number;
  /** Why the step itself failed (its condition timed out, its action was refused), if it did. */
  error?: string;
  expectations: Judgement[];
}

export interface ScenarioOutcome {
  scenario: string;
  passed: boolean;
  interrupted: boolean;
  durationMs: number;
  steps: StepOutcome[];
  /** The expectations checked after the last step. */
  expectations: Judgement[];
  facts: Facts;
  latency: { commandRoundTripMs: Percentiles };
}

export interface ScenarioRunOptions {
  /** Ctrl-C: the run stops after the step under way and reports what it saw. */
  signal?: AbortSignal;
  /** A line of progress (stderr in the CLI). */
  progress?: (line: string) => void;
  /** Harness options the file does not hold: an external broker, PostgreSQL stores, the log level. */
  harness?: Pick<HarnessOptions, 'broker' | 'stores' | 'directoryUrl' | 'logLevel'>;
  /** A deployment running elsewhere (its broker and its server's API) instead of an embedded stack. */
  remote?: RemoteTarget;
}

interface Machine {
  deviceId: string;
  region: RegionId;
  group: string;
}

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runScenario(scenario: Scenario, options: ScenarioRunOptions = {}): Promise<ScenarioOutcome> {
  const { signal } = options;
  const say = options.progress ?? (() => undefined);
  const started = performance.now();
  const fleet = {
    machines: scenario.fleet.machines,
    leaky: scenario.fleet.leaky,
    seed: scenario.fleet.seed,
    speed: scenario.fleet.speed,
    mqttVersion: scenario.fleet.mqttVersion,
    ...(scenario.fleet.regions ? { regions: scenario.fleet.regions } : {}),
  };
  await using harness = options.remote
    ? await connectHarness(options.remote, { ...fleet, ...(options.harness?.logLevel ? { logLevel: options.harness.logLevel } : {}) })
    : await createHarness({ ...options.harness, ...fleet });
  const machines: Machine[] = harness.machines.map((m) => ({ ...m, group: 'fleet' }));
  for (const [group, spec] of Object.entries(scenario.devices)) {
    for (let i = 0; i < spec.count; i++) {
      const device = await harness.provision({
        region: spec.region,
        ...(spec.consent ? { consent: spec.consent } : {}),
        ...(spec.profile ? { profile: spec.profile } : {}),
        ...(spec.usage ? { usage: spec.usage } : {}),
        ...(spec.mqttVersion ? { mqttVersion: spec.mqttVersion } : {}),
      });
      machines.push({ deviceId: device.id, region: device.region, group });
    }
  }
  const upAt = performance.now();
  const sinceUp = (): number => performance.now() - upAt;
  const stamp = (): string => `[${(sinceUp() / 1000).toFixed(1).padStart(6)} s]`;
  say(`${stamp()} ${scenario.name}: ${machines.length} machines up in ${((upAt - started) / 1000).toFixed(1)} s`);

  const commandResults: Array<CommandResult | { name: string; status: 'no_answer' }> = [];
  const outages: Promise<void>[] = [];
  const outageFailures: string[] = [];
  const roundTrips: number[] = [];
  const facts = async (): Promise<Facts> => {
    const stats = await harness.ingestStats();
    const report = await harness.report();
    const regions = Object.keys(stats.stored) as RegionId[];
    const storedByKind: Facts['storedByKind'] = {};
    for (const region of regions) {
      const byKind: Record<string, number> = {};
      for (const kind of ['brew', 'location', 'payment', 'status', 'fault'] as const) byKind[kind] = await harness.countStored({ region, kind });
      storedByKind[region] = byKind;
    }
    return {
      published: harness.fleet.published(),
      suppressed: harness.fleet.stats().reduce((n, f) => n + f.suppressed, 0),
      storedByKind,
      refusedByReason: { ...stats.refusedByReason },
      commandResults: [...commandResults],
      residencyViolations: report.residencyViolations,
      unconsentedRows: report.unconsentedRows,
      complianceOk: report.ok,
    };
  };

  const select = (selector: string): Machine[] => {
    const chosen =
      selector === 'all'
        ? machines
        : selector.startsWith('region:')
          ? machines.filter((m) => m.region === selector.slice(7))
          : machines.filter((m) => m.group === selector);
    if (chosen.length === 0) throw new Error(`devices "${selector}" matched no machine (groups: fleet, ${Object.keys(scenario.devices).join(', ') || 'none'})`);
    return chosen;
  };

  const act = async (action: StepAction): Promise<string> => {
    if ('wait' in action) {
      await sleep(action.wait, signal);
      return `waited ${action.wait} ms`;
    }
    if ('outage' in action) {
      const { region, for: forMs } = action.outage;
      const what = region === undefined ? 'the broker' : `${region}'s store`;
      // In the background: the steps after this one run during the outage.
      outages.push(
        (region === undefined ? harness.brokerOutage(forMs) : harness.regionOutage(region, forMs)).then(
          () => say(`${stamp()} ${what} is back`),
          (error: unknown) => {
            outageFailures.push(`${what}'s outage could not be made: ${(error as Error).message}`);
          },
        ),
      );
      return `${what} out of service for ${forMs} ms`;
    }
    if ('rate' in action) {
      const chosen = select(action.rate.devices);
      harness.fleet.setBrewRate(
        action.rate.brews,
        chosen.map((m) => m.deviceId),
      );
      return `brews x${action.rate.brews} on ${chosen.length} machine(s)`;
    }
    if ('clockSkew' in action) {
      const chosen = select(action.clockSkew.devices);
      harness.fleet.setClockSkew(
        action.clockSkew.by,
        chosen.map((m) => m.deviceId),
      );
      return `clocks of ${chosen.length} machine(s) ${action.clockSkew.by} ms off`;
    }
    if ('consent' in action) {
      const chosen = select(action.consent.devices);
      for (const m of chosen) await harness.setConsent(m.deviceId, action.consent.set);
      return `consent ${JSON.stringify(action.consent.set)} for ${chosen.length} machine(s)`;
    }
    if ('faults' in action) {
      const chosen = select(action.faults.devices);
      harness.fleet.injectFaults(
        action.faults.rates,
        chosen.map((m) => m.deviceId),
      );
      return `faults ${JSON.stringify(action.faults.rates)} on ${chosen.length} machine(s)`;
    }
    const { name, args, waitMs, devices } = action.command;
    const chosen = select(devices);
    await Promise.all(
      chosen.map(async (m) => {
        const sent = performance.now();
        try {
          commandResults.push(await harness.sendCommand(m.deviceId, name, args, { waitMs }));
          roundTrips.push(performance.now() - sent);
        } catch {
          commandResults.push({ name, status: 'no_answer' });
        }
      }),
    );
    return `command ${name} to ${chosen.length} machine(s)`;
  };

  const runStep = async (step: ScenarioStep, index: number): Promise<StepOutcome> => {
    const name = step.name ?? `step ${index + 1}`;
    if (step.at !== undefined) await sleep(step.at - sinceUp(), signal);
    const startedAtMs = sinceUp();
    const outcome: StepOutcome = { name, startedAtMs, durationMs: 0, expectations: [] };
    try {
      if (step.after?.refused) {
        const { count, reason } = step.after.refused;
        const refusedNow = async (): Promise<number> => {
          const byReason = (await harness.ingestStats()).refusedByReason;
          return reason ? (byReason[reason] ?? 0) : Object.values(byReason).reduce((a, b) => a + b, 0);
        };
        const deadline = performance.now() + step.after.timeout;
        while ((await refusedNow()) < count) {
          if (performance.now() > deadline)
            throw new Error(`waited ${step.after.timeout} ms for ${count} refused${reason ? ` for ${reason}` : ''}; saw ${await refusedNow()}`);
          await sleep(100, signal);
          if (signal?.aborted) break;
        }
        say(`${stamp()} ${name}: ${await refusedNow()} refused${reason ? ` for ${reason}` : ''} (waited for ${count})`);
      } else if (step.after) {
        const relative = step.after.storedMore !== undefined;
        const { count, region, kind } = (step.after.storedMore ?? step.after.stored)!;
        const scope = { ...(region ? { region } : {}), ...(kind ? { kind } : {}) };
        const base = relative ? await harness.countStored(scope) : 0;
        const seen = await harness.waitForStored({ count: base + count, timeoutMs: step.after.timeout, ...scope });
        say(
          `${stamp()} ${name}: ${seen} stored${region ? ` in ${region}` : ''}${kind ? ` of kind ${kind}` : ''} (waited for ${relative ? `${count} more than ${base}` : count})`,
        );
      }
      if (step.do && !signal?.aborted) say(`${stamp()} ${name}: ${await act(step.do)}`);
    } catch (error) {
      outcome.error = (error as Error).message;
      say(`${stamp()} ${name}: FAILED ${outcome.error}`);
    }
    if (step.expect.length > 0) outcome.expectations = judge(step.expect, await facts());
    for (const j of outcome.expectations) if (!j.passed) say(`${stamp()} ${name}: unmet: ${j.message}`);
    outcome.durationMs = sinceUp() - startedAtMs;
    return outcome;
  };

  const steps: StepOutcome[] = [];
  let timedOut = false;
  for (const [index, step] of scenario.steps.entries()) {
    if (signal?.aborted) break;
    if (sinceUp() > scenario.timeout) {
      timedOut = true;
      break;
    }
    steps.push(await runStep(step, index));
  }
  // Every outage ends before the end is judged (they are bounded by their `for`).
  await Promise.all(outages);
  const final = await facts();
  const expectations = judge(scenario.expect, final);
  for (const failure of outageFailures) expectations.push({ description: 'make the outages asked for', passed: false, actual: false, message: failure });
  if (timedOut)
    expectations.push({
      description: `finish within ${scenario.timeout} ms`,
      passed: false,
      actual: Math.round(sinceUp()),
      message: `the scenario ran past its timeout of ${scenario.timeout} ms`,
    });
  if (signal?.aborted)
    expectations.push({
      description: 'run to the end',
      passed: false,
      actual: steps.length,
      message: `interrupted after ${steps.length} of ${scenario.steps.length} steps`,
    });
  for (const j of expectations) if (!j.passed) say(`${stamp()} unmet: ${j.message}`);
  const passed = steps.every((s) => s.error === undefined && s.expectations.every((j) => j.passed)) && expectations.every((j) => j.passed);
  return {
    scenario: scenario.name,
    passed,
    interrupted: signal?.aborted === true,
    durationMs: performance.now() - started,
    steps,
    expectations,
    facts: final,
    latency: { commandRoundTripMs: percentiles(roundTrips) },
  };
}
