import { ERRORS } from '../../errors.ts';

// The console sends an action's parameters as JSON ({"AndroidInstanceIdList": ["acp-a", "acp-b"]});
// they become the wire's flat form (AndroidInstanceIdList.1=acp-a …) so that the action's own
// spec decodes and validates them exactly as it does a signed API call's.

type Scalar = string | number | boolean;

const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

export function flattenParams(body: unknown): Map<string, string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ERRORS.badRequest('the console sends its parameters as one JSON object');
  }
  const flat = new Map<string, string>();
  for (const [name, value] of Object.entries(body)) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw ERRORS.invalidParameter(name, 'not a parameter name');
    if (isScalar(value)) flat.set(name, String(value));
    else if (Array.isArray(value)) for (const [i, item] of value.entries()) flattenItem(flat, `${name}.${i + 1}`, item);
    else if (value !== null) throw ERRORS.invalidParameter(name, 'expected a string, number, boolean or list');
  }
  return flat;
}

function flattenItem(flat: Map<string, string>, key: string, item: unknown): void {
  if (isScalar(item)) {
    flat.set(key, String(item));
    return;
  }
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw ERRORS.invalidParameter(key, 'expected a string or an object of strings');
  }
  for (const [field, value] of Object.entries(item)) {
    if (!isScalar(value)) throw ERRORS.invalidParameter(`${key}.${field}`, 'expected a string');
    flat.set(`${key}.${field}`, String(value));
  }
}
