// Debian's Chromium for the tests that need a real browser (installed by .ci/run): never a downloaded browser.
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser is installed: the browser tests skip cleanly where it is not. */
export const hasChromium = existsSync(CHROMIUM);

/**
 * Headless, as root, and quiet on a closed network: without the background-networking flags Chromium keeps
 * trying hosts this machine cannot reach.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
