import { ERRORS } from '../../src/errors.ts';

// The error codes a task may settle with: every code the catalogue (src/errors.ts) makes, less
// InternalError, which is what an error nobody catalogued becomes, and less `incompatible`,
// whose code is its caller's (src/backup/compatibility.ts names those).

export const TASK_ERROR_CODES: ReadonlySet<string> = new Set(
  Object.entries(ERRORS)
    .filter(([name]) => name !== 'incompatible' && name !== 'internal')
    .map(([, make]) => (make as (...args: unknown[]) => { code: string })('x', 'x', 'x').code),
);
