// Tells a metadata database that is away (down, restarting, failing over, refusing connections)
// from a fault of the service: the API answers the first with 503 ServiceUnavailable, which a
// client may retry, instead of an InternalError that reads as a bug.

// SQLSTATE class 08 (connection exception); 57P01-57P03: the server is shutting down, crashed,
// or is starting up (PostgreSQL's errcodes.txt)
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;
// what node-postgres and pg-pool raise when the socket to the server cannot be opened or dies
const SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
const PG_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (SQLSTATE.test(code) || SOCKET.has(code))) return true;
  return PG_MESSAGES.test(err.message);
}
