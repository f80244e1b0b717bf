import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

// Android's own userland, borrowed read-only from the host: mksh is Android's /system/bin/sh and
// toybox provides the standard tools, so scripts that work here work on a phone. The emulator
// also needs bubblewrap and root (it mounts and changes owners inside the sandbox).

export interface Userland {
  mksh: string;
  toybox: string;
  /** toybox applet names (ls, tar, chown …), linked in /system/bin */
  applets: string[];
  /** absolute paths of the shared libraries and the dynamic loader the two binaries need */
  libraries: string[];
}

const run = promisify(execFile);
let cached: Promise<Userland> | undefined;

export function findUserland(): Promise<Userland> {
  cached ??= probe();
  return cached;
}

async function probe(): Promise<Userland> {
  // every phone command runs in a bubblewrap sandbox (sandbox.ts): without it the phone would
  // listen and answer nothing, so its absence is one clear refusal at start instead
  const bwrap = firstExisting(['/usr/bin/bwrap', '/bin/bwrap'], 'bwrap', 'bubblewrap');
  await run(bwrap, ['--version']).catch((err: Error) => {
    throw new Error(`${bwrap} cannot run (${err.message.split('\n')[0]}); install it: apt-get install bubblewrap`);
  });
  const mksh = firstExisting(['/usr/bin/mksh', '/bin/mksh'], 'mksh', 'mksh');
  const toybox = firstExisting(['/usr/bin/toybox', '/bin/toybox'], 'toybox', 'toybox');
  const { stdout: appletList } = await run(toybox, []);
  const applets = appletList.split(/\s+/).filter((a) => /^[a-z0-9][a-z0-9_.-]*$/.test(a));
  const { stdout: deps } = await run('ldd', [mksh, toybox]);
  // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" and "\t/lib64/ld-linux-x86-64.so.2 (0x…)"
  const libraries = new Set<string>();
  for (const line of deps.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m?.[1]) libraries.add(m[1]);
  }
  if (libraries.size === 0) throw new Error(`ldd found no libraries for ${mksh} and ${toybox}`);
  return { mksh, toybox, applets, libraries: [...libraries].sort() };
}

function firstExisting(candidates: string[], what: string, debianPackage: string): string {
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(
      `${what} is not installed (looked in ${candidates.join(', ')}); install it: apt-get install ${debianPackage}`,
    );
  }
  return found;
}
