import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { type Phone, startPhone } from './phone.ts';
import { type AndroidRelease, profileFor } from './profile.ts';
import { defaultProps, formatBuildProp } from './props.ts';

// For tests: a phone that answers as one Android release, by giving a new phone folder the
// build.prop of that release before its first start (the phone reads its release from there).

export async function startPhoneAs(
  root: string,
  release: AndroidRelease,
  opts: { seedApps?: boolean } = {},
): Promise<Phone> {
  const buildProp = path.join(root, 'system', 'build.prop');
  if (!(await fsp.stat(buildProp).catch(() => null))) {
    await fsp.mkdir(path.dirname(buildProp), { recursive: true });
    const props = {
      ...defaultProps(),
      'ro.build.version.release': String(release),
      'ro.build.version.sdk': String(profileFor(release).sdk),
    };
    await fsp.writeFile(buildProp, formatBuildProp(props));
  }
  return startPhone(root, opts);
}
