import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ERRORS } from '../../errors.ts';

// The console's page and its two built assets (`npm run build:console` writes them to
// dist/console/ at npm install). A fixed list read once into memory: no part of a URL ever
// becomes a file path, and nothing is fetched from anywhere else (no CDN).

const ASSETS = { 'main.js': 'text/javascript; charset=utf-8', 'main.css': 'text/css; charset=utf-8' } as const;
type AssetName = keyof typeof ASSETS;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloudphone-backup console</title>
<link rel="stylesheet" href="/console/assets/main.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="/console/assets/main.js"></script>
</body>
</html>
`;

// only this origin's script and styles; no frames, no inline code (Preact sets styles through the DOM)
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** the bundle's folder: beside the running bundle (dist/), or dist/ of the checkout when run from src/ */
export function findAssetsDir(): string | undefined {
  const candidates = [new URL('./console/', import.meta.url), new URL('../../../dist/console/', import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}main.js`)) return dir;
  }
  return undefined;
}

function load(dir: string | undefined): Map<AssetName, Buffer> | undefined {
  if (!dir) return undefined;
  const files = new Map<AssetName, Buffer>();
  for (const name of Object.keys(ASSETS) as AssetName[]) files.set(name, readFileSync(`${dir}${name}`));
  return files;
}

const secured = (reply: FastifyReply) =>
  reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');

export function serveAssets(app: FastifyInstance, dir: string | undefined): void {
  const files = load(dir);
  const unbuilt = () =>
    ERRORS.serviceUnavailable('the console is not built: run `npm run build` (npm install does it) and restart');
  app.get('/console', async (_request, reply) => {
    if (!files) throw unbuilt();
    return secured(reply).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(PAGE);
  });
  app.get('/console/', async (_request, reply) => reply.redirect('/console', 301));
  app.get<{ Params: { name: string } }>('/console/assets/:name', async (request, reply) => {
    if (!files) throw unbuilt();
    const name = request.params.name;
    const body = Object.hasOwn(ASSETS, name) ? files.get(name as AssetName) : undefined;
    if (!body) throw ERRORS.actionNotFound();
    return secured(reply)
      .header('cache-control', 'no-cache')
      .type(ASSETS[name as AssetName])
      .send(body);
  });
}
