/**
 * A real browser for end-to-end tests: Debian's Chromium, driven by playwright-core (which downloads no browser of
 * its own). `.ci/run` installs the `chromium` package; where it is missing, `browserOrSkip` says why and the
 * browser tests are skipped with that reason printed, never passed silently.
 */
import fs from 'node:fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium package, as .ci/run does, or set CHROMIUM_PATH)`;
  }
  return undefined;
}

/**
 * `it` when the browser can run, else `it.skip` after printing the reason once, so a skipped browser test is seen
 * in the run's output.
 */
export function itWithBrowser<T extends (...args: never[]) => unknown>(it: T & { skip: T }): T {
  const reason = browserUnavailable();
  if (reason === undefined) return it;
  console.warn(`browser tests skipped: ${reason}`);
  return it.skip;
}

/**
 * Headless Chromium with the flags this kind of machine needs: no sandbox (CI runs as root), and none of Chrome's
 * background connections to Google's hosts (refused by a closed network, and they would count as requests to
 * other hosts). `hostResolverRules` maps host names to loopback for tests of cookie domains.
 */
export async function launchBrowser(options: { hostResolverRules?: string; args?: string[] } = {}): Promise<Browser> {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-domain-reliability',
    '--metrics-recording-only',
    ...(options.hostResolverRules ? [`--host-resolver-rules=${options.hostResolverRules}`] : []),
    ...(options.args ?? []),
  ];
  const launch: LaunchOptions = { executablePath: CHROMIUM_PATH, headless: true, args };
  return chromium.launch(launch);
}
