#!/usr/bin/env node
// The `alexnet` command. Errors a user can cause print as "alexnet: <Name> [CODE]: message" on
// stderr and exit 1; anything else is a bug and says so.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { AlexnetError } from '../errors.js';
import { classifyCommand } from './classify.js';
import { convertCommand } from './convert.js';
import { stepCommand } from './step.js';
import { evalCommand } from './eval.js';
import { forwardCommand } from './forward.js';
import { infoCommand } from './info.js';
import { initCommand } from './init.js';
import { statsCommand } from './stats.js';
import { trainCommand } from './train.js';

// A program may set V8 flags for itself (a library must not): relaxed SIMD on Node 20, where it is
// still behind a flag, and no baseline (Liftoff) tier, so that the wasm kernels run optimised from
// their first call instead of after V8 notices they are hot.
if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
v8.setFlagsFromString('--no-liftoff');

// A reader that stops early (`alexnet forward | head -1`) closes the pipe: that ends the command,
// quietly and successfully, as it does for other Unix tools.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
}

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('alexnet')
  .description('AlexNet (Krizhevsky, Sutskever, Hinton, 2012) in TypeScript')
  .version(version)
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(infoCommand())
  .addCommand(initCommand())
  .addCommand(forwardCommand())
  .addCommand(classifyCommand())
  .addCommand(statsCommand())
  .addCommand(trainCommand())
  .addCommand(evalCommand())
  .addCommand(stepCommand())
  .addCommand(convertCommand());

/** One line for the user: our errors by name and code, the system's (a full disk, a permission) by errno; a bug says so, with its stack only under ALEXNET_DEBUG. */
/** Messages quote what they read (a JSON parser's excerpt can hold newlines): one line, always. */
const oneLine = (message: string): string => message.replace(/\s*[\r\n]+\s*/g, ' ');

function describe(e: unknown): string {
  if (e instanceof AlexnetError) return `${e.name} [${e.code}]: ${oneLine(e.message)}`;
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.syscall === 'string' && typeof err.code === 'string') return `SystemError [${err.code}]: ${oneLine(err.message)}`;
  const detail = process.env.ALEXNET_DEBUG ? `\n${err?.stack ?? String(e)}` : ' (set ALEXNET_DEBUG=1 for its stack)';
  return `internal error, a bug in alexnet: ${err?.name ?? 'Error'}: ${oneLine(err?.message ?? String(e))}${detail}`;
}

try {
  await program.parseAsync();
} catch (e) {
  process.stderr.write(`alexnet: ${describe(e)}\n`);
  process.exitCode = 1;
}
