// Declarative parameter specs. Each action states its parameters once; the spec drives both
// decoding of the wire form (`Name`, `Name.1`, `Tag.1.Key`) and the TypeScript type of the
// decoded object, so an action's `handle` can never disagree with what was validated.

/** Lists longer than this are rejected unless a spec says otherwise (Alibaba's usual limit). */
export const DEFAULT_MAX_ITEMS = 100;
/** Strings longer than this are rejected unless a spec says otherwise; bounds what reaches storage and logs. */
export const DEFAULT_MAX_LENGTH = 1024;

interface Common {
  readonly required?: boolean;
}
export interface StringOptions extends Common {
  readonly enum?: readonly string[];
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** what a pattern cannot say: returns why the value is invalid, or null */
  readonly check?: (value: string) => string | null;
  readonly default?: string;
}
export interface IntegerOptions extends Common {
  readonly min?: number;
  readonly max?: number;
  readonly default?: number;
}
export interface BooleanOptions extends Common {
  readonly default?: boolean;
}
/** `yyyy-MM-dd HH:mm:ss` in UTC, a real calendar time; decodes to a Date. */
export type TimeOptions = Common;
export interface ListOptions extends Common {
  readonly maxItems?: number;
}

export type StringSpec = StringOptions & { readonly kind: 'string' };
export type IntegerSpec = IntegerOptions & { readonly kind: 'integer' };
export type BooleanSpec = BooleanOptions & { readonly kind: 'boolean' };
export type TimeSpec = TimeOptions & { readonly kind: 'time' };
export type ScalarSpec = StringSpec | IntegerSpec | BooleanSpec | TimeSpec;
export type StringListSpec = ListOptions & { readonly kind: 'stringList'; readonly item: StringSpec };
export type ObjectListSpec = ListOptions & {
  readonly kind: 'objectList';
  readonly fields: Readonly<Record<string, ScalarSpec>>;
};
export type ParamSpec = ScalarSpec | StringListSpec | ObjectListSpec;
export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** The options of a builder called without any. */
type None = Record<never, never>;

export const param = {
  string: <const O extends StringOptions = None>(options?: O) =>
    ({ ...options, kind: 'string' }) as O & { kind: 'string' },
  integer: <const O extends IntegerOptions = None>(options?: O) =>
    ({ ...options, kind: 'integer' }) as O & { kind: 'integer' },
  boolean: <const O extends BooleanOptions = None>(options?: O) =>
    ({ ...options, kind: 'boolean' }) as O & { kind: 'boolean' },
  /** `yyyy-MM-dd HH:mm:ss` (UTC), as Alibaba's time filters; `2026-02-30` or `24:00:00` are refused, not rolled over. */
  time: <const O extends TimeOptions = None>(options?: O) => ({ ...options, kind: 'time' }) as O & { kind: 'time' },
  /** `Name.1=a&Name.2=b`; `item` constrains every element. */
  stringList: <const O extends ListOptions = None, const I extends StringOptions = None>(options?: O, item?: I) =>
    ({ ...options, kind: 'stringList', item: { ...item, kind: 'string' } }) as O & {
      kind: 'stringList';
      item: I & { kind: 'string' };
    },
  /** `Tag.1.Key=k&Tag.1.Value=v`. */
  objectList: <const F extends Record<string, ScalarSpec>, const O extends ListOptions = None>(
    fields: F,
    options?: O,
  ) => ({ ...options, kind: 'objectList', fields }) as O & { kind: 'objectList'; fields: F },
};

type StringValue<S> = S extends { enum: readonly (infer E)[] } ? E : string;
type ValueOf<S> = S extends { kind: 'string' }
  ? StringValue<S>
  : S extends { kind: 'integer' }
    ? number
    : S extends { kind: 'boolean' }
      ? boolean
      : S extends { kind: 'time' }
        ? Date
        : S extends { kind: 'stringList'; item: infer I }
          ? StringValue<I>[]
          : S extends { kind: 'objectList'; fields: infer F }
            ? ParamsOf<F>[]
            : never;

// A key is always present in the decoded object when it is required or has a default.
type PresentKeys<P> = {
  [K in keyof P]: P[K] extends { required: true } ? K : P[K] extends { default: unknown } ? K : never;
}[keyof P];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The decoded parameters of an action, derived from its spec. */
export type ParamsOf<P> = Simplify<
  { -readonly [K in PresentKeys<P>]: ValueOf<P[K]> } & {
    -readonly [K in Exclude<keyof P, PresentKeys<P>>]?: ValueOf<P[K]>;
  }
>;
