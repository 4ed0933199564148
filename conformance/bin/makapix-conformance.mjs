#!/usr/bin/env node
// makapix-conformance from a checkout: runs conformance/src/bin/makapix-conformance.ts through tsx
// (registered in this process), so no build step is needed. The published package
// (@makapix/conformance, `make packages`) runs the compiled file instead.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin/makapix-conformance.ts');
