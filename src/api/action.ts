import type { Logger } from 'pino';
import type { ParamSpecs, ParamsOf } from './params/spec.ts';

export type { ParamSpecs, ParamsOf } from './params/spec.ts';
export { param } from './params/spec.ts';

/** What every action handler gets besides its parameters. */
export interface ActionContext {
  /** The RequestId of this call (upper-case UUID); tasks record it as their InvokeId. */
  readonly requestId: string;
  /** The account that owns the AccessKeyId: every read and write is scoped to it. */
  readonly account: string;
  readonly accessKeyId: string;
  /** A child logger that carries the RequestId. */
  readonly log: Logger;
  /** Aborted when the client goes away before the response is sent. */
  readonly signal: AbortSignal;
}

/**
 * A success body without RequestId (the edge puts it first). A top-level `Code` is forbidden:
 * pop-core treats any body with a Code outside {200, OK, Success} as an error.
 */
export type ResponseBody = Record<string, unknown> & { Code?: never; RequestId?: never };

export interface ActionDefinition<P extends ParamSpecs = ParamSpecs> {
  readonly name: string;
  readonly params: P;
  // Method syntax on purpose: it keeps `ActionDefinition<Specific>` assignable to `ActionDefinition`,
  // so a plain array can hold every action.
  handle(params: ParamsOf<P>, ctx: ActionContext): Promise<ResponseBody>;
}

/** Declares an action: `export default defineAction({ name: 'BackupApp', params: {...}, handle })`. */
export function defineAction<const P extends ParamSpecs>(definition: ActionDefinition<P>): ActionDefinition<P> {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(definition.name)) throw new Error(`Invalid action name ${definition.name}`);
  return definition;
}
