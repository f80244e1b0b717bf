import { createHash } from 'node:crypto';
import type { AndroidProfile } from './profile.ts';

// The file_contexts rules for the paths an emulated phone has: what `restorecon` gives a path and
// what a fresh phone folder is labelled with. Taken from sepolicy private/file_contexts
// (LineageOS/android_system_sepolicy, branches lineage-17.1 = Android 10 … lineage-21.0 = 14;
// line numbers below are lineage-21.0's unless marked). The rules that changed between releases
// come from profile.fileContexts.
//
// Matching follows libselinux's label_file backend, as the file's own header describes it:
// entries without regex characters are tried first, then the regexes from the bottom up, and the
// first match wins. A rule may be limited to one file type (`--` regular file, `-d` dir, `-l` link).

export type FileKind = 'file' | 'dir' | 'link' | 'other';

interface Rule {
  spec: string;
  kind?: FileKind;
  type: string;
}

function rules(profile: AndroidProfile): Rule[] {
  const fc = profile.fileContexts;
  const list: Rule[] = [
    { spec: '/', type: 'rootfs' }, // :24
    { spec: '/lib(/.*)?', type: 'rootfs' }, // :42 (the emulator's library mount points live there)
    { spec: '/mnt', type: 'tmpfs' }, // :51
    { spec: '/proc', type: 'rootfs' }, // :52
    { spec: '/etc', type: 'rootfs' }, // :70
    { spec: '/sdcard', type: 'rootfs' }, // :71
    { spec: '/dev(/.*)?', type: 'device' }, // :96
    { spec: '/dev/socket(/.*)?', type: 'socket_device' }, // :156
    { spec: '/system(/.*)?', type: 'system_file' }, // :236
    { spec: '/system/bin/toybox', kind: 'file', type: 'toolbox_exec' }, // :265
    { spec: '/system/bin/sh', kind: 'file', type: 'shell_exec' }, // :269
    // Android 10: one rule for all of /data (lineage-17.1:426); 11+: the mount point apart (:559-560)
    ...(fc.dataRoot === 'system_data_file'
      ? [{ spec: '/data(/.*)?', type: 'system_data_file' }]
      : [
          { spec: '/data', type: fc.dataRoot },
          { spec: '/data/(.*)?', type: 'system_data_file' },
        ]),
    { spec: '/data/system/packages\\.list', type: 'packages_list_file' }, // :562
    { spec: '/data/app(/.*)?', type: 'apk_data_file' }, // :581
    { spec: '/data/app/vmdl[^/]+\\.tmp(/.*)?', type: 'apk_tmp_file' }, // :586
    { spec: '/data/local/tmp(/.*)?', type: 'shell_data_file' }, // :595
    // 10-13: /data/media(/.*)? media_rw_data_file (lineage-20.0:568); 14: the folder apart (:598-599)
    ...(fc.mediaRoot === 'media_rw_data_file'
      ? [{ spec: '/data/media(/.*)?', type: 'media_rw_data_file' }]
      : [
          { spec: '/data/media', type: fc.mediaRoot },
          { spec: '/data/media/.*', type: 'media_rw_data_file' },
        ]),
    { spec: '/storage(/.*)?', type: 'storage_file' }, // :885
  ];
  // 14: /data/user and /data/user_de have their own type (:620-621); before, /data/(.*)? covers them
  if (fc.userRoots !== 'system_data_file') {
    list.push({ spec: '/data/user', type: fc.userRoots }, { spec: '/data/user_de', type: fc.userRoots });
  }
  // 11+: the account files (lineage-18.1:319,321); Android 10 has no rule, so they are system_file
  if (fc.accountFiles) {
    list.push(
      { spec: '/system/etc/group', type: 'system_group_file' }, // :366
      { spec: '/system/etc/passwd', type: 'system_passwd_file' }, // :368
    );
  }
  if (fc.tmp) list.push({ spec: '/tmp', type: 'shell_data_file' }); // :57, Android 14 only
  return list;
}

const META = /[.^$?*+|[\](){}\\]/;

export class FileContexts {
  private readonly exact: { text: string; rule: Rule }[];
  private readonly regexes: { re: RegExp; rule: Rule }[];
  /** stands for the hash of the partial matches restorecon keeps in security.sehash */
  readonly digest: string;

  constructor(profile: AndroidProfile) {
    const all = rules(profile);
    const isExact = (r: Rule) => !META.test(r.spec.replace(/\\\./g, ''));
    this.exact = all
      .filter(isExact)
      .map((rule) => ({ text: rule.spec.replace(/\\(.)/g, '$1'), rule }))
      .reverse();
    this.regexes = all
      .filter((r) => !isExact(r))
      .map((rule) => ({ re: new RegExp(`^(?:${rule.spec})$`), rule }))
      .reverse();
    this.digest = createHash('sha1').update(JSON.stringify(all)).digest('hex');
  }

  /** the context file_contexts gives a (canonical, absolute) phone path, or null when no rule matches */
  lookup(phonePath: string, kind: FileKind): string | null {
    const fits = (r: Rule) => r.kind === undefined || r.kind === kind;
    const found =
      this.exact.find(({ text, rule }) => fits(rule) && text === phonePath)?.rule ??
      this.regexes.find(({ re, rule }) => fits(rule) && re.test(phonePath))?.rule;
    return found ? `u:object_r:${found.type}:s0` : null;
  }
}

export function fileKind(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): FileKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  return st.isSymbolicLink() ? 'link' : 'other';
}
