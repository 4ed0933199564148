#!/usr/bin/env node
// makapix-conformance: the conformance suite of the Makapix Club player protocol (see
// conformance/README.md). Runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a library left a handle open (the report is already written).
setTimeout(() => process.exit(code), 200).unref();
