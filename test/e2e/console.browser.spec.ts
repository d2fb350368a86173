import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { startCheckoutLoad, stockProducts, type CheckoutLoad } from '../support/checkout-load.js';
import { CHROMIUM_ARGS, ensureChromium } from '../support/chromium.js';
import { stuckSagas, type StuckSagas } from '../support/stuck-saga.js';
import { startTestStore, type TestStore } from '../support/test-store.js';
// @ts-expect-error: plain JavaScript shared with the global setup and the reporter
import { recordSkip } from '../support/skipped-suites.js';

const TOKEN = 'browser-test-token-0123456789abcdef';
/** Kept after the run (gitignored): what the page looked like. */
const ARTEFACTS = fileURLToPath(new URL('../../reports/console/', import.meta.url));
/** UPDATE_CONSOLE_SCREENSHOT=1 also refreshes the README's screenshot. */
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/console.png', import.meta.url));

const chromiumFound = ensureChromium();
const TITLE = 'the operator console in a real browser (Chromium)';
if ('missing' in chromiumFound && process.env.CI !== 'true') {
  // Loud: named again at the end of the run, after jest's summary.
  console.warn(`SKIPPED: ${TITLE}: ${chromiumFound.missing}`);
  recordSkip(expect.getState().testPath, TITLE, chromiumFound.missing);
}

('missing' in chromiumFound && process.env.CI !== 'true' ? describe.skip : describe)(TITLE, () => {
  let store: TestStore;
  let sagas: StuckSagas;
  let load: CheckoutLoad | undefined;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if ('missing' in chromiumFound) throw new Error(`${chromiumFound.missing} (CI=true: every test must run)`);
    store = await startTestStore({ CONSOLE_TOKEN: TOKEN });
    sagas = await stuckSagas(store, 'orders');
    await stockProducts(store.url);
    // Traffic for the live charts: checkouts, some declined, some refused stock.
    load = startCheckoutLoad(store.url, 2);
    // A new, empty profile for every run.
    profile = mkdtempSync(join(tmpdir(), 'mf-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumFound.path,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1500 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    // A script error, or anything the page's CSP refused, fails the test.
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/401 \(Unauthorized\)/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await load?.stop();
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await sagas?.stop();
    await store?.close();
  });

  it('logs in, shows a stuck saga with its error, retries it, and then shows it complete', async () => {
    await sagas.park('order-stuck-browser');
    const login = await page.goto(`${store.url}/console`);
    expect(login?.status()).toBe(401);
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');

    // The module map: every module, drawn from the declarations.
    await page.waitForSelector('#map svg g[data-module="orders"]');
    expect(await page.locator('#map svg g[data-module]').count()).toBe(5);
    expect(await page.locator('#map svg line').count()).toBeGreaterThan(2);

    const stuck = page.locator('#stuck tr[data-saga="console-demo"][data-key="order-stuck-browser"]');
    await stuck.waitFor();
    expect(await stuck.textContent()).toContain('payment provider did not answer');
    expect(await stuck.textContent()).toContain('CHARGE_CARD');
    // Let the charts draw a few readings of the checkouts going on.
    await page.locator('#route option').first().waitFor({ state: 'attached', timeout: 20_000 });
    // (Longer for the README's screenshot: a fuller chart.)
    await page.waitForTimeout(process.env.UPDATE_CONSOLE_SCREENSHOT === '1' ? 40_000 : 5_000);
    expect(await page.locator('#route').inputValue()).toBe('POST /orders');
    mkdirSync(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTEFACTS, 'console-stuck.png'), fullPage: true });
    if (process.env.UPDATE_CONSOLE_SCREENSHOT === '1') copyFileSync(join(ARTEFACTS, 'console-stuck.png'), DOCS_SCREENSHOT);

    sagas.heal();
    await stuck.locator('button', { hasText: 'retry' }).click();
    await page.locator('#toast').getByText('runs again from CHARGE_CARD').waitFor();
    // Followed by key once acted on: it finishes in view, however many other sagas end meanwhile.
    const followed = page.locator('#watched tr[data-saga="console-demo"][data-key="order-stuck-browser"]');
    await followed.getByText('DONE').first().waitFor({ timeout: 30_000 });
    await page.locator('#stuck').getByText('nothing is stuck').waitFor();
    expect((await sagas.row('order-stuck-browser')).status).toBe('DONE');

    await page.screenshot({ path: join(ARTEFACTS, 'console.png'), fullPage: true });
    expect(problems).toEqual([]);
  }, 120_000);
});
