#!/usr/bin/env node
/**
 * The `kmodel` executable: `kmodel run | compare | replay | walk | validate`, `--help` on each.
 * Exit codes: 0 ok, 1 failure, 2 bad input.
 */
import { runCli } from './cli/program.js';
import { PROCESS_IO } from './cli/io.js';

process.exitCode = await runCli(process.argv.slice(2), PROCESS_IO);
