#!/usr/bin/env node
// makapix-player-sim: the reference player simulator (`--help` lists the options). The published
// package's bin (compiled); in the checkout conformance/bin/makapix-player-sim.mjs runs this file
// through tsx.
import { main } from '../sim/cli.js';

// Explicit exit: a Ctrl-C during registration leaves a credentials poll pending.
process.exit(await main(process.argv.slice(2)));
