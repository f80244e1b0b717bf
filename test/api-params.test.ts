// Parameter decoding from the flat wire form, the types it yields, and the nonce memory.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { param } from '../src/api/action.ts';
import { MemoryNonceStore } from '../src/api/auth/memory-nonce-store.ts';
import { decodeParams } from '../src/api/params/decode.ts';
import { ServiceError } from '../src/errors.ts';

const specs = {
  Name: param.string({ required: true, maxLength: 4 }),
  Type: param.string({ enum: ['OSS'] }),
  Pkg: param.string({ pattern: /^[a-z]+(\.[a-z]+)+$/ }),
  Max: param.integer({ min: 1, max: 100, default: 10 }),
  Level: param.integer(),
  All: param.boolean(),
  Ids: param.stringList({ maxItems: 3 }, { pattern: /^acp-[a-z0-9]+$/ }),
  Tag: param.objectList({ Key: param.string({ required: true }), Value: param.string() }, { maxItems: 2 }),
};

const decode = (pairs: Record<string, string>) => decodeParams(specs, new Map(Object.entries(pairs)));

function failure(pairs: Record<string, string>) {
  try {
    decode(pairs);
  } catch (err) {
    if (err instanceof ServiceError) return { code: err.code, message: err.message, status: err.httpStatus };
    throw err;
  }
  throw new Error('decoding succeeded');
}

describe('decodeParams', () => {
  it('yields the typed object the spec describes', () => {
    const out = decode({
      Name: '漢字ab',
      Type: 'OSS',
      Pkg: 'com.example',
      Level: '-3',
      All: 'false',
      'Ids.2': 'acp-b',
      'Ids.1': 'acp-a',
      'Tag.1.Key': 'k',
      'Tag.1.Value': 'v',
      'Tag.2.Key': 'only',
      Action: 'Ignored',
      Unknown: 'ignored',
    });
    expect(out).toEqual({
      Name: '漢字ab',
      Type: 'OSS',
      Pkg: 'com.example',
      Max: 10,
      Level: -3,
      All: false,
      Ids: ['acp-a', 'acp-b'],
      Tag: [{ Key: 'k', Value: 'v' }, { Key: 'only' }],
    });
    expectTypeOf(out).toEqualTypeOf<{
      Name: string;
      Max: number;
      Type?: 'OSS';
      Pkg?: string;
      Level?: number;
      All?: boolean;
      Ids?: string[];
      Tag?: { Key: string; Value?: string }[];
    }>();
  });

  it('keeps list order by index, skips holes and empty items, and takes a bare value as one item', () => {
    expect(decode({ Name: 'n', 'Ids.3': 'acp-c', 'Ids.1': 'acp-a', 'Ids.2': '' }).Ids).toEqual(['acp-a', 'acp-c']);
    expect(decode({ Name: 'n', Ids: 'acp-x' }).Ids).toEqual(['acp-x']);
    expect(decode({ Name: 'n', Max: '', Level: '' })).toEqual({ Name: 'n', Max: 10 });
  });

  it.each([
    [{}, 'MissingParameter', '"Name"'],
    [{ Name: '' }, 'MissingParameter', '"Name"'],
    [{ Name: 'abcde' }, 'InvalidParameter', 'longer than 4'],
    [{ Name: 'n', Type: 'NAS' }, 'InvalidParameter', 'one of OSS'],
    [{ Name: 'n', Pkg: 'com/../x' }, 'InvalidParameter', '"Pkg"'],
    [{ Name: 'n', Max: '0' }, 'InvalidParameter', 'at least 1'],
    [{ Name: 'n', Max: '101' }, 'InvalidParameter', 'at most 100'],
    [{ Name: 'n', Max: '1e2' }, 'InvalidParameter', 'decimal integer'],
    [{ Name: 'n', Level: '007' }, 'InvalidParameter', 'decimal integer'],
    [{ Name: 'n', All: 'yes' }, 'InvalidParameter', 'true or false'],
    [{ Name: 'n', 'Ids.4': 'acp-d' }, 'InvalidParameter', 'more than 3 items'],
    [{ Name: 'n', 'Ids.01': 'acp-a' }, 'InvalidParameter', '"Ids.01"'],
    [{ Name: 'n', 'Ids.0': 'acp-a' }, 'InvalidParameter', '"Ids.0"'],
    [{ Name: 'n', 'Ids.1': 'ACP;rm' }, 'InvalidParameter', '"Ids.1"'],
    [{ Name: 'n', Ids: 'acp-a', 'Ids.2': 'acp-b' }, 'InvalidParameter', 'not both'],
    [{ Name: 'n', 'Tag.1.Colour': 'red' }, 'InvalidParameter', '"Tag.1.Colour"'],
    [{ Name: 'n', 'Tag.1': 'x' }, 'InvalidParameter', '"Tag.1"'],
    [{ Name: 'n', 'Tag.2.Value': 'v' }, 'MissingParameter', '"Tag.2.Key"'],
    [{ Name: 'n', 'Tag.3.Key': 'k' }, 'InvalidParameter', 'more than 2 items'],
  ])('%j → %s', (pairs, code, text) => {
    const got = failure(pairs);
    expect(got).toMatchObject({ code, status: 400 });
    expect(got.message).toContain(text);
  });

  it('counts string length in characters, not UTF-16 units', () => {
    expect(decode({ Name: '😀😀😀😀' }).Name).toBe('😀😀😀😀');
    expect(failure({ Name: '😀😀😀😀😀' }).code).toBe('InvalidParameter');
  });

  it('refuses a 10,000-item list without building it', () => {
    const pairs: Record<string, string> = { Name: 'n' };
    for (let i = 1; i <= 10_000; i++) pairs[`Ids.${i}`] = `acp-${i}`;
    expect(failure(pairs).message).toContain('"Ids"');
  });

  it('reports a missing required list by name', () => {
    const required = { Apps: param.stringList({ required: true }) };
    expect(() => decodeParams(required, new Map([['Apps.1', '']]))).toThrow(/"Apps"/);
  });
});

describe('time parameters', () => {
  const times = { When: param.time({ required: true }) };
  const when = (value: string) => decodeParams(times, new Map([['When', value]])).When;

  it('decode yyyy-MM-dd HH:mm:ss as that UTC instant, the Date type included', () => {
    expect(when('2024-02-29 23:59:59').toISOString()).toBe('2024-02-29T23:59:59.000Z');
    expect(when('0099-12-31 00:00:00').toISOString()).toBe('0099-12-31T00:00:00.000Z');
    expectTypeOf(when('2024-01-01 00:00:00')).toEqualTypeOf<Date>();
  });

  it.each([
    '2026-13-01 00:00:00',
    '2026-02-30 00:00:00',
    '2100-02-29 00:00:00',
    '2026-04-31 00:00:00',
    '2026-01-01 24:00:00',
    '2026-01-01 00:00:60',
    '2026-01-01T00:00:00',
    '2026-01-01 00:00:00Z',
    '２０２６-01-01 00:00:00',
  ])('refuses %j as InvalidParameter', (value) => {
    expect(() => when(value)).toThrow(expect.objectContaining({ code: 'InvalidParameter', httpStatus: 400 }));
  });
});

describe('MemoryNonceStore', () => {
  it('refuses a live nonce and forgets it after it expires', async () => {
    let now = 1_000_000;
    const store = new MemoryNonceStore({ now: () => now });
    expect(await store.remember('a', new Date(now + 1000))).toBe(true);
    expect(await store.remember('a', new Date(now + 1000))).toBe(false);
    now += 1001;
    expect(await store.remember('a', new Date(now + 1000))).toBe(true);
  });

  it('stays bounded: expired entries go, and when full of live ones it refuses new work', async () => {
    let now = 0;
    const store = new MemoryNonceStore({ maxEntries: 3, now: () => now });
    for (const n of ['a', 'b', 'c']) expect(await store.remember(n, new Date(now + 100))).toBe(true);
    await expect(store.remember('d', new Date(now + 100))).rejects.toMatchObject({ code: 'ServiceUnavailable' });
    now = 101;
    expect(await store.remember('d', new Date(now + 100))).toBe(true);
    expect(store.size).toBe(1);
  });
});
