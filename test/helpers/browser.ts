import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

// Debian's Chromium (apt package chromium, installed by .ci/run), driven by playwright-core:
// no browser download, no network.

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/chromium-headless-shell'];

export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? CANDIDATES.find((p) => existsSync(p));
  if (!executablePath) throw new Error('no Chromium: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH');
  // root has no user namespace sandbox for Chromium here; the page is our own console on loopback
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
