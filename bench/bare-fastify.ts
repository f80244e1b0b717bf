import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

// The yardstick for DescribeTasks: the service's Fastify (the same package, so the same
// version), one GET route answering a stored DescribeTasks answer (the service's own, captured by
// the bench), serialized on every request as the service serializes its answer. No logger, no
// signature check, no database: what any API on this framework and machine costs at least.

const body = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Record<string, unknown>;
const app = Fastify();
app.get('/', async () => body);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`bare Fastify on ${url}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
