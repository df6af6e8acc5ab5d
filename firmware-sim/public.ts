/**
 * The `brewtel/fleet` entry point of the package: start a fleet of simulated machines against any
 * MQTT broker, and provision them through a brewtel server's API first. Nothing inside the
 * repository imports this file.
 */
export { startFleet, type Fleet, type FleetOptions, type FleetStats, type MachineIdentity } from './fleet.ts';
export { fleetOptionsSchema, machineIdentitySchema, machineIdentityListSchema, type ParsedFleetOptions } from './fleet-options.ts';
export { provisionMachines, provisionOptionsSchema, type ProvisionOptions } from './provision.ts';
export { faultRatesSchema, type FaultRatesInput } from '../schema/fault-rates.ts';
