/**
 * The `brewtel/schema` entry point of the package: the zod contract and the types inferred from it,
 * for projects that install brewtel. Nothing inside the repository imports this file; modules here
 * import the schema file they need.
 */
export * from './api.ts';
export * from './card-data.ts';
export * from './commands.ts';
export * from './consent.ts';
export * from './control.ts';
export * from './deployment.ts';
export * from './directory.ts';
export * from './events.ts';
export * from './fault-rates.ts';
export * from './fleet-control.ts';
export * from './ids.ts';
export * from './location.ts';
export * from './privacy.ts';
export * from './refusal-explanation.ts';
export * from './regions.ts';
export * from './topics.ts';
