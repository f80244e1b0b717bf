import { killSuite } from './helpers/kill-suite.ts';

// The crash fault suite on SQLite (test/helpers/kill-suite.ts; PostgreSQL: fault-kill-postgres).
killSuite('sqlite');
