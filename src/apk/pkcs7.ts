import { createHash } from 'node:crypto';

// JAR signing (v1) keeps a PKCS#7 SignedData in META-INF/*.RSA|DSA|EC:
//   ContentInfo ::= SEQUENCE { contentType OID, [0] EXPLICIT SignedData }
//   SignedData ::= SEQUENCE { version, digestAlgorithms SET, contentInfo SEQUENCE,
//                             [0] IMPLICIT certificates, … }
// The first certificate is taken as the signer's (apksigner writes exactly one).

interface Tlv {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

function tlv(buf: Buffer, at: number): Tlv {
  if (at + 2 > buf.length) throw new RangeError('DER past the end');
  const tag = buf[at] as number;
  let length = buf[at + 1] as number;
  let valueStart = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[valueStart + i] as number);
    valueStart += count;
  }
  const end = valueStart + length;
  if (end > buf.length) throw new RangeError('DER value past the end');
  return { tag, start: at, valueStart, end };
}

const children = (buf: Buffer, parent: Tlv): Tlv[] => {
  const out: Tlv[] = [];
  for (let p = parent.valueStart; p < parent.end; p = out[out.length - 1]?.end as number) out.push(tlv(buf, p));
  return out;
};

/** SHA-256 hex of the first certificate in a PKCS#7 SignedData, or null */
export function pkcs7SignerDigest(der: Buffer): string | null {
  try {
    const contentInfo = tlv(der, 0);
    const explicit = children(der, contentInfo)[1];
    if (explicit?.tag !== 0xa0) return null;
    const signedData = children(der, explicit)[0];
    if (!signedData) return null;
    const certificates = children(der, signedData).find((c) => c.tag === 0xa0);
    const first = certificates && children(der, certificates)[0];
    if (!first) return null;
    return createHash('sha256').update(der.subarray(first.start, first.end)).digest('hex');
  } catch {
    return null;
  }
}
