#!/usr/bin/env node
/** `brewtel`: the package's command line. */
process.stdout.write('Usage: brewtel <command> [options]\n');
