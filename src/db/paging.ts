import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { ERRORS } from '../errors.ts';

// Keyset paging, newest first, on (created, id). The token is the last row's key, so rows
// inserted while a client pages never shift or repeat what it sees.

export interface PageRequest {
  /** 1–100; each list has its own default (Alibaba's: 10 for files and tasks, 100 for instances) */
  maxResults?: number;
  /** '' or absent: first page */
  nextToken?: string;
}

export interface Page<T> {
  items: T[];
  totalCount: number;
  maxResults: number;
  /** '' on the last page */
  nextToken: string;
}

export interface Cursor {
  created: string;
  id: string;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.created, c.id])).toString('base64url');
}

export function decodeToken(token: string): Cursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && ISO.test(v[0]) && typeof v[1] === 'string') {
      return { created: v[0], id: v[1] };
    }
  } catch {
    // falls through to the one error below
  }
  throw ERRORS.invalidParameter('NextToken', 'it is not a token returned by a previous call');
}

/** rows strictly after the cursor in (created desc, id desc) order */
export function afterCursor(c: Cursor): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.ref('created')} < ${c.created} or (${sql.ref('created')} = ${c.created} and ${sql.ref('id')} < ${c.id}))`;
}

/** case-insensitive substring match with LIKE wildcards in the needle taken literally */
export function fuzzy(column: string, needle: string): RawBuilder<SqlBool> {
  const pattern = `%${needle.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

export async function paginate<R extends Cursor, T>(
  req: PageRequest,
  defaultMax: number,
  count: () => Promise<number>,
  fetch: (after: Cursor | null, limit: number) => Promise<R[]>,
  map: (row: R) => T,
): Promise<Page<T>> {
  const maxResults = req.maxResults ?? defaultMax;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
    throw ERRORS.invalidParameter('MaxResults', 'it must be an integer from 1 to 100');
  }
  const after = req.nextToken ? decodeToken(req.nextToken) : null;
  const [totalCount, rows] = await Promise.all([count(), fetch(after, maxResults + 1)]);
  const pageRows = rows.slice(0, maxResults);
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(map),
    totalCount,
    maxResults,
    nextToken: rows.length > maxResults && last ? encodeToken(last) : '',
  };
}
