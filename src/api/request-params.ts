import { ERRORS } from '../errors.ts';

export type Pairs = [string, string][];

/** Decoded `k=v` pairs of a URL query or form body, in order. `+` means space, as in forms. */
export function parsePairs(encoded: string): Pairs {
  return [...new URLSearchParams(encoded)];
}

/** The query part of a raw request URL (`/?a=1` → `a=1`). */
export function rawQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

/**
 * Query and form-body parameters as one map. A key given twice is refused: the two signatures
 * and the decoder would each have to pick one, and they must never disagree on which. A NUL
 * character is refused in any key or value: no parameter needs one, and PostgreSQL cannot store
 * or compare text holding one (the query would fail with a 500).
 */
export function mergeParams(...sources: Pairs[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const pairs of sources) {
    for (const [key, value] of pairs) {
      if (key.includes('\u0000') || value.includes('\u0000')) {
        throw ERRORS.invalidParameter(key, 'a NUL character (%00) is not allowed');
      }
      if (params.has(key)) throw ERRORS.invalidParameter(key, 'the parameter is given more than once');
      params.set(key, value);
    }
  }
  return params;
}
