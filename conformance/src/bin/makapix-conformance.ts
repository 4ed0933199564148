#!/usr/bin/env node
// makapix-conformance: the conformance suite of the Makapix Club player protocol. The published
// package's bin (compiled); in the checkout conformance/bin/makapix-conformance.mjs runs this file
// through tsx.
import { main } from '../cli/main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a library left a handle open (the report is already written).
setTimeout(() => process.exit(code), 200).unref();
