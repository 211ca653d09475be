/**
 * Headless Chromium for the dashboard tests: Debian's `chromium` driven by playwright-core (.ci/run installs it),
 * one set of launch flags, the artifacts folder for screenshots, and a bounded reload-until-visible wait.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts/dashboard');
export const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n!!! SKIPPING the dashboard browser tests: ${CHROMIUM} is missing.` +
      `\n!!! Install it with: apt-get install -y chromium  (.ci/run does)\n`,
  );

/** Launches headless Chromium and makes sure the artifacts folder exists. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return browser;
}

/** Reload until `selector` shows up (the work runs in the server's worker; bounded wait). */
export async function reloadUntil(page: Page, selector: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if ((await page.locator(selector).count()) > 0) return;
    if (Date.now() > end) throw new Error(`${selector} did not appear within ${timeoutMs} ms`);
    await page.waitForTimeout(250);
    await page.reload();
  }
}
