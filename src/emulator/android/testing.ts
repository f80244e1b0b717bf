import type { Phone } from './phone.ts';

// For tests and tools: runs one command in a phone's sandboxed shell and collects its output.

export interface ShellResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** `input` is written to stdin, which is then closed; with `keepStdinOpen` it never closes */
export function shell(
  phone: Phone,
  command: string,
  input?: Buffer | string,
  keepStdinOpen = false,
): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = phone.spawnShell(command);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code }),
    );
    child.stdin.on('error', () => {});
    if (input !== undefined) child.stdin.write(input);
    if (!keepStdinOpen) child.stdin.end();
  });
}
