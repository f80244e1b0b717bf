import { open } from 'node:fs/promises';
import { type Manifest, parseManifest } from './manifest.ts';
import { pkcs7SignerDigest } from './pkcs7.ts';
import { blockBounds, type SignatureScheme, signerFromBlock } from './signing-block.ts';
import { readAt, readCentralDirectory, readEntry } from './zip.ts';

export { signerDigestFromTail } from './signing-block.ts';

export interface ApkInfo extends Manifest {
  /** SHA-256 hex of the signer's certificate (as `apksigner verify --print-certs` shows it); null if unsigned */
  signerDigest: string | null;
  /** 3 or 2 for the APK Signing Block, 1 for a JAR signature, null if unsigned */
  signatureScheme: SignatureScheme | 1 | null;
}

const MAX_MANIFEST = 4 << 20;
const MAX_SIGNATURE_FILE = 1 << 20;
const MAX_SIGNING_BLOCK = 16 << 20;
const JAR_SIGNATURE = /^META-INF\/[^/]+\.(RSA|DSA|EC)$/i;

/** reads an APK's manifest and signer; throws on anything that is not a readable APK */
export async function readApkInfo(path: string): Promise<ApkInfo> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const cd = await readCentralDirectory(file, size);
    const manifestEntry = cd.entries.find((e) => e.name === 'AndroidManifest.xml');
    if (!manifestEntry) throw new Error('the APK has no AndroidManifest.xml');
    const manifest = parseManifest(await readEntry(file, manifestEntry, MAX_MANIFEST));

    if (cd.offset >= 24) {
      const bounds = blockBounds(await readAt(file, cd.offset - 24, 24), cd.offset);
      if (bounds && bounds.end - bounds.start <= MAX_SIGNING_BLOCK) {
        const signer = signerFromBlock(await readAt(file, bounds.start, bounds.end - bounds.start));
        if (signer) return { ...manifest, signerDigest: signer.digest, signatureScheme: signer.scheme };
      }
    }
    const jar = cd.entries.find((e) => JAR_SIGNATURE.test(e.name));
    const digest = jar ? pkcs7SignerDigest(await readEntry(file, jar, MAX_SIGNATURE_FILE)) : null;
    return { ...manifest, signerDigest: digest, signatureScheme: digest ? 1 : null };
  } finally {
    await file.close();
  }
}
