import { buildProgram } from './program.ts';

// Entry point of the `cloudphone-backup` binary.
await buildProgram().parseAsync(process.argv);
