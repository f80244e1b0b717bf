import { type BigIntStats, promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileKind } from './file-contexts.ts';
import type { LabelStore } from './labels.ts';
import type { PhoneRoot } from './root-path.ts';
import { type AppLookup, appDataContext } from './seapp.ts';

// libselinux's selinux_android_restorecon(), which toybox restorecon calls (topjohnwu/selinux
// @81d604a9 libselinux/src/android/android_device.c:612-840): the path made canonical (realpath of
// its folder + its name), then one entry or, with RECURSE, an fts walk that neither follows links
// nor crosses filesystems. App data (/data/data/*, /data/user/*, /data/user_de/*, is_app_data_path
// :282) is labelled from seapp_contexts, and without DATADATA (-D) only the top of it is labelled
// (:778-781). After a recursive run, each folder keeps a digest of the rules (security.sehash) and
// is skipped next time unless FORCE (-F) (check_context_match_for_dir :560). Messages go through
// selinux_log, whose default callback writes to stderr (libselinux/src/callbacks.c).

export interface RestoreconFlags {
  recurse: boolean;
  force: boolean;
  datadata: boolean;
  nochange: boolean;
  verbose: boolean;
}

const APP_DATA = /^\/data\/(data|user|user_de)\//;

export class Restorecon {
  constructor(
    private readonly phone: PhoneRoot,
    private readonly labels: LabelStore,
    private readonly apps: AppLookup,
    private readonly log: (text: string) => void,
  ) {}

  /** false when selinux_android_restorecon returns -1 (toybox then prints "restorecon failed") */
  async run(pathname: string, flags: RestoreconFlags): Promise<boolean> {
    const base = path.posix.basename(pathname);
    const whole = base === '' || base === '.' || base === '..';
    const dir = whole ? pathname : path.posix.dirname(pathname);
    // realpath(): the folder must exist
    const real = await this.phone
      .canonical(dir, true)
      .then(async (r) => {
        await this.lstat(r);
        return r;
      })
      .catch((err) => {
        this.log(`SELinux: Could not get canonical path for ${pathname} restorecon: ${strerr(err)}.\n`);
        throw err;
      });
    const canonical = whole ? real : path.posix.join(real, base);
    if (!flags.recurse) {
      const st = await this.lstat(canonical);
      const ok = await this.restoreOne(canonical, st, flags);
      await this.labels.save();
      return ok;
    }
    // setrestoreconlast: no digests for a walk that starts inside app data
    const digests = !APP_DATA.test(canonical);
    const hashed: BigIntStats[] = [];
    let ok = true;
    let top: BigIntStats;
    try {
      top = await this.lstat(canonical);
    } catch (err) {
      this.log(`SELinux:  Could not stat ${canonical}: ${strerr(err)}.\n`);
      return true;
    }
    const visit = async (p: string, st: BigIntStats): Promise<void> => {
      if (st.isDirectory()) {
        if (digests) {
          if (!flags.force && this.labels.sehash(st) === this.labels.contexts.digest) {
            this.log(`SELinux: Skipping restorecon on directory(${p})\n`);
            return;
          }
          hashed.push(st);
        }
        ok = (await this.restoreOne(p, st, flags)) && ok;
        if (!flags.datadata && APP_DATA.test(p)) return;
        const host = this.phone.hostOf(p);
        for await (const entry of await fsp.opendir(host)) {
          const child = path.posix.join(p, entry.name);
          const cst = await this.lstat(child).catch((err) => {
            this.log(`SELinux:  Could not stat ${child}: ${strerr(err)}.\n`);
            return null;
          });
          if (cst && cst.dev === top.dev) await visit(child, cst);
        }
        return;
      }
      ok = (await this.restoreOne(p, st, flags)) && ok;
    };
    await visit(canonical, top);
    if (digests && !flags.nochange && ok)
      for (const st of hashed) this.labels.setSehash(st, this.labels.contexts.digest);
    await this.labels.save();
    return ok;
  }

  /** restorecon_sb (:475): file_contexts' context, or seapp's for app data, set if it differs */
  private async restoreOne(p: string, st: BigIntStats, flags: RestoreconFlags): Promise<boolean> {
    let context = this.labels.contexts.lookup(p, fileKind(st));
    if (context === null) return true;
    const old = await this.labels.contextOf(p, st);
    if (APP_DATA.test(p)) {
      const app = this.appContext(p);
      if (app === false) {
        this.log(`SELinux: Could not set context for ${p}:  Success\n`);
        return false;
      }
      context = app ?? context;
    }
    if (old !== context) {
      if (flags.verbose) this.log(`SELinux:  Relabeling ${p} from ${old} to ${context}.\n`);
      if (!flags.nochange) this.labels.setInode(st, context);
    }
    return true;
  }

  /** pkgdir_selabel_lookup (:433): null for a path that names no package, false for an unknown one */
  private appContext(p: string): string | null | false {
    const m = /^\/data\/(?:data\/([^/]+)|(?:user|user_de)\/(\d+)\/([^/]+))/.exec(p);
    const pkg = m?.[1] ?? m?.[3];
    const userId = Number(m?.[2] ?? 0);
    if (!pkg || userId > 1000) return null;
    const info = this.apps(pkg);
    if (!info) {
      this.log(`SELinux:  Could not look up information for package ${pkg}, cannot restorecon ${p}.\n`);
      return false;
    }
    return appDataContext(info.uid, userId, info.targetSdk);
  }

  private async lstat(canonical: string): Promise<BigIntStats> {
    return fsp.lstat(this.phone.hostOf(canonical), { bigint: true });
  }
}

const strerr = (err: unknown) =>
  (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : String((err as Error).message);
