import { killSuite } from './helpers/kill-suite.ts';

// The crash fault suite on PostgreSQL (test/helpers/kill-suite.ts; SQLite: fault-kill).
killSuite('postgres');
