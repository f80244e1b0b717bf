import { expect, it } from 'vitest';
import { toEnvelopeError } from '../src/api/error-envelope.ts';
import { isDatabaseUnavailable } from '../src/db/unavailable.ts';

// What node-postgres raises while PostgreSQL is away is ServiceUnavailable at the API, not an
// InternalError; the restart itself is exercised in test/fault-postgres-restart.test.ts.

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const request = { bodyLimit: 1024, contentType: '' };

it('knows a database that is down, restarting or refusing connections', () => {
  for (const err of [
    withCode('connect ECONNREFUSED 127.0.0.1:55433', 'ECONNREFUSED'),
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is starting up', '57P03'),
    withCode('connection failure', '08006'),
    new Error('Connection terminated unexpectedly'),
  ]) {
    expect(isDatabaseUnavailable(err), err.message).toBe(true);
    expect(toEnvelopeError(err, request)).toMatchObject({ code: 'ServiceUnavailable', httpStatus: 503 });
  }
});

it('leaves every other fault an InternalError', () => {
  for (const err of [
    withCode('duplicate key value violates unique constraint', '23505'),
    withCode('syntax error at or near', '42601'),
    new TypeError("Cannot read properties of undefined (reading 'id')"),
    'a string',
  ]) {
    expect(isDatabaseUnavailable(err)).toBe(false);
    expect(toEnvelopeError(err, request)).toMatchObject({ code: 'InternalError', httpStatus: 500 });
  }
});
