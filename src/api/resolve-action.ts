import { ERRORS } from '../errors.ts';
import type { ActionDefinition } from './action.ts';

export const API_VERSION = '2023-09-30';

/**
 * Action and Version come from the parameters (RPC v1, pop-core) or from the x-acs-action /
 * x-acs-version headers (V3 SDKs); when both are sent they must agree.
 */
function pick(name: string, params: ReadonlyMap<string, string>, headers: ReadonlyMap<string, string>): string {
  const fromParams = params.get(name);
  const fromHeader = headers.get(`x-acs-${name.toLowerCase()}`);
  if (fromParams && fromHeader && fromParams !== fromHeader) {
    throw ERRORS.invalidParameter(name, `the parameter and the x-acs-${name.toLowerCase()} header disagree`);
  }
  const value = fromParams || fromHeader;
  if (!value) throw ERRORS.missingParameter(name);
  return value;
}

export function resolveAction(
  actions: ReadonlyMap<string, ActionDefinition>,
  params: ReadonlyMap<string, string>,
  headers: ReadonlyMap<string, string>,
): ActionDefinition {
  if (pick('Version', params, headers) !== API_VERSION) throw ERRORS.invalidVersion();
  const action = actions.get(pick('Action', params, headers));
  if (!action) throw ERRORS.actionNotFound();
  return action;
}
