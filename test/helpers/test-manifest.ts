import { type AppManifest, type Manifest, manifestSchema } from '../../src/backup/archive/manifest.ts';

// One archive manifest for the archive tests: com.example.notes with one APK, the given parts and
// whatever an app entry should say differently (raw, so a test can also try what the schema refuses).

export const TEST_PKG = 'com.example.notes';

export function rawManifest(app: Partial<Record<keyof AppManifest, unknown>> = {}): Record<string, unknown> {
  return {
    format: 'cloudphone-backup',
    version: 1,
    created: new Date(0).toISOString(),
    backupFileId: 'bf-test',
    instance: {
      id: 'acp-a',
      name: 'a',
      imageId: 'img',
      imageVersion: '1',
      imageType: 'public',
      instanceType: 'cpm.gx7.10xlarge',
      abi: 'x86_64',
      sdk: 34,
      androidVersion: '14',
      fingerprint: 'fp',
    },
    apps: [
      {
        package: TEST_PKG,
        versionCode: 3,
        versionName: '1.2',
        signerDigest: null,
        sourceUid: 10001,
        permissions: [],
        apks: [{ name: 'base.apk', size: 5 }],
        parts: ['ce'],
        ...app,
      },
    ],
  };
}

/** the same, parsed: defaults filled in, as a restore sees it */
export const testManifest = (app: Partial<Record<keyof AppManifest, unknown>> = {}): Manifest =>
  manifestSchema.parse(rawManifest(app));
