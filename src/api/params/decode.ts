import { ERRORS } from '../../errors.ts';
import { parsePlainTime } from '../format.ts';
import {
  DEFAULT_MAX_ITEMS,
  DEFAULT_MAX_LENGTH,
  type ObjectListSpec,
  type ParamSpecs,
  type ParamsOf,
  type ScalarSpec,
  type StringListSpec,
} from './spec.ts';

type Scalar = string | number | boolean | Date;
type Flat = ReadonlyMap<string, string>;

const INDEX = /^[1-9][0-9]{0,8}$/;
const OBJECT_KEY = /^([1-9][0-9]{0,8})\.(.+)$/;
const INTEGER = /^-?(0|[1-9][0-9]{0,14})$/;

/**
 * Decodes the flat wire parameters into the typed object an action's spec describes. Parameters
 * the spec does not name (the common ones: Action, Signature, …) are ignored, as Alibaba does.
 */
export function decodeParams<P extends ParamSpecs>(specs: P, flat: Flat): ParamsOf<P> {
  const lists = groupListKeys(specs, flat);
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value =
      spec.kind === 'stringList'
        ? decodeStringList(name, spec, flat.get(name), lists.get(name) ?? [])
        : spec.kind === 'objectList'
          ? decodeObjectList(name, spec, lists.get(name) ?? [])
          : decodeScalar(name, spec, flat.get(name));
    if (value !== undefined) out[name] = value;
  }
  return out as ParamsOf<P>;
}

/** One pass over the params: `Name.rest` keys of list params, grouped by Name. */
function groupListKeys(specs: ParamSpecs, flat: Flat): Map<string, [string, string][]> {
  const groups = new Map<string, [string, string][]>();
  for (const [key, value] of flat) {
    const dot = key.indexOf('.');
    if (dot <= 0) continue;
    const name = key.slice(0, dot);
    const kind = Object.hasOwn(specs, name) ? specs[name]?.kind : undefined;
    if (kind !== 'stringList' && kind !== 'objectList') continue;
    getOrAdd(groups, name, () => []).push([key.slice(dot + 1), value]);
  }
  return groups;
}

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function checkIndex(name: string, index: string, maxItems: number): number {
  const n = Number(index);
  if (n > maxItems) throw ERRORS.invalidParameter(name, `the list holds more than ${maxItems} items`);
  return n;
}

function decodeStringList(name: string, spec: StringListSpec, bare: string | undefined, keyed: [string, string][]) {
  const maxItems = spec.maxItems ?? DEFAULT_MAX_ITEMS;
  const items = new Map<number, string>();
  // A bare `Name=v` is a one-item list: that is what `call --Name v` sends for a single value.
  if (bare !== undefined && bare !== '') {
    if (keyed.length > 0) throw ERRORS.invalidParameter(name, `send either ${name} or ${name}.N, not both`);
    items.set(1, bare);
  }
  for (const [rest, value] of keyed) {
    if (!INDEX.test(rest)) throw ERRORS.invalidParameter(`${name}.${rest}`, 'a list index must be a positive integer');
    items.set(checkIndex(name, rest, maxItems), value);
  }
  const list: Scalar[] = [];
  // Holes (`.1`, `.3`) are what SDKs send for null items: skip them, keep the index order.
  for (const index of [...items.keys()].sort((a, b) => a - b)) {
    const value = decodeScalar(`${name}.${index}`, spec.item, items.get(index));
    if (value !== undefined) list.push(value);
  }
  return finishList(name, spec.required, list);
}

function decodeObjectList(name: string, spec: ObjectListSpec, keyed: [string, string][]) {
  const maxItems = spec.maxItems ?? DEFAULT_MAX_ITEMS;
  const items = new Map<number, Map<string, string>>();
  for (const [rest, value] of keyed) {
    const match = OBJECT_KEY.exec(rest);
    const field = match?.[2];
    if (!match?.[1] || !field || !Object.hasOwn(spec.fields, field)) {
      throw ERRORS.invalidParameter(`${name}.${rest}`, `expected ${name}.N.<${Object.keys(spec.fields).join('|')}>`);
    }
    const index = checkIndex(name, match[1], maxItems);
    getOrAdd(items, index, () => new Map<string, string>()).set(field, value);
  }
  const list: Record<string, Scalar>[] = [];
  for (const index of [...items.keys()].sort((a, b) => a - b)) {
    const item: Record<string, Scalar> = {};
    for (const [field, fieldSpec] of Object.entries(spec.fields)) {
      const value = decodeScalar(`${name}.${index}.${field}`, fieldSpec, items.get(index)?.get(field));
      if (value !== undefined) item[field] = value;
    }
    list.push(item);
  }
  return finishList(name, spec.required, list);
}

function finishList<T>(name: string, required: boolean | undefined, list: T[]): T[] | undefined {
  if (list.length > 0) return list;
  if (required) throw ERRORS.missingParameter(name);
  return undefined;
}

function decodeScalar(name: string, spec: ScalarSpec, raw: string | undefined): Scalar | undefined {
  if (raw === undefined || raw === '') {
    if (spec.kind !== 'time' && spec.default !== undefined) return spec.default;
    if (spec.required) throw ERRORS.missingParameter(name);
    return undefined;
  }
  switch (spec.kind) {
    case 'string': {
      const maxLength = spec.maxLength ?? DEFAULT_MAX_LENGTH;
      if (raw.length > maxLength && [...raw].length > maxLength) {
        throw ERRORS.invalidParameter(name, `longer than ${maxLength} characters`);
      }
      if (spec.enum && !spec.enum.includes(raw)) {
        throw ERRORS.invalidParameter(name, `must be one of ${spec.enum.join(', ')}`);
      }
      if (spec.pattern && !spec.pattern.test(raw))
        throw ERRORS.invalidParameter(name, 'the value has an invalid format');
      const problem = spec.check?.(raw);
      if (problem) throw ERRORS.invalidParameter(name, problem);
      return raw;
    }
    case 'integer': {
      if (!INTEGER.test(raw)) throw ERRORS.invalidParameter(name, 'must be a decimal integer');
      const n = Number(raw);
      if (spec.min !== undefined && n < spec.min) throw ERRORS.invalidParameter(name, `must be at least ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw ERRORS.invalidParameter(name, `must be at most ${spec.max}`);
      return n;
    }
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw ERRORS.invalidParameter(name, 'must be true or false');
    case 'time': {
      const time = parsePlainTime(raw);
      if (!time) throw ERRORS.invalidParameter(name, 'must be a real UTC time as yyyy-MM-dd HH:mm:ss');
      return time;
    }
  }
}
