import { deviceStateSchema, type DeviceState } from '../../schema/topics.ts';

/** Last `online`/`offline` seen per device on its retained state topic; memory only for now. */
export class DeviceStates {
  readonly #states = new Map<string, { state: DeviceState; at: Date }>();

  /** Ignores anything that is not one of the two states: a state topic carries nothing else. */
  apply(deviceId: string, payload: Buffer, at: Date): boolean {
    // An empty retained payload clears the state (an erasure does that): forget it here too.
    if (payload.length === 0) return this.#states.delete(deviceId);
    const parsed = deviceStateSchema.safeParse(payload.toString('utf8'));
    if (!parsed.success) return false;
    this.#states.set(deviceId, { state: parsed.data, at });
    return true;
  }

  get(deviceId: string): { state: DeviceState; at: Date } | undefined {
    return this.#states.get(deviceId);
  }
}
