import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium, which the browser tests drive through playwright-core (no browser download: no internet). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What the browser tests launch Chromium with: headless, quiet, nothing phoning home. A new empty profile comes on top. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether Chromium is there, installing it where it is missing under CI=true
 * as root (`apt-get install -y chromium`). Answers why not otherwise: the
 * caller skips loudly on a laptop and fails on CI.
 */
export function ensureChromium(): { readonly path: string } | { readonly missing: string } {
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  const root = process.getuid?.() === 0;
  if (process.env.CI === 'true' && root && existsSync('/usr/bin/apt-get')) {
    try {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
        stdio: 'ignore',
        timeout: 600_000,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch (error) {
      return { missing: `${CHROMIUM_PATH} is missing and \`apt-get install -y chromium\` failed: ${(error as Error).message.split('\n')[0]}` };
    }
    if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  }
  return {
    missing: `Chromium is not at ${CHROMIUM_PATH} (install it: \`apt-get install -y chromium\`, or set CHROMIUM_PATH)${process.env.CI === 'true' ? '' : '; under CI=true as root the test installs it'}`,
  };
}
