// Crash points for the fault suite, in the manner of etcd's gofail or FoundationDB's buggify:
// each named point is a no-op unless CPB_FAILPOINTS (comma-separated names) lists it, and then
// the process SIGKILLs itself there, so a test can crash it at an exact step instead of racing
// a timer. The list is read once: a point in a hot loop costs one Set lookup.

const armed = new Set(
  (process.env.CPB_FAILPOINTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

export function failpoint(name: string): void {
  if (armed.size && armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
