#!/usr/bin/env node
// makapix-player-sim from a checkout: runs conformance/src/bin/makapix-player-sim.ts through tsx
// (registered in this process), so no build step is needed. The published package
// (@makapix/conformance, `make packages`) runs the compiled file instead. `--help` lists the options.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin/makapix-player-sim.ts');
