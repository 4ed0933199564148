#!/usr/bin/env node
// makapix-player-sim: the reference player simulator. Runs conformance/src/sim/cli.ts through tsx
// (registered in this process), so no build step is needed. `--help` lists the options.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../src/sim/cli.ts', import.meta.url).href);
// Explicit exit: a Ctrl-C during registration leaves a credentials poll pending.
process.exit(await main(process.argv.slice(2)));
