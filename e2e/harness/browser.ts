/** Debian's Chromium driven by playwright-core (no browser download), with screenshots into e2e/artifacts. */
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { ARTIFACTS } from './server.ts'

export const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's Chromium (apt-get install -y chromium); .ci/run does`)
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
}

/**
 * `runToasts`: show the console's run toasts (the Account page's per-browser switch). Off unless asked:
 * the journeys of other features start runs and click on at once, and a toast of a run that just ended
 * would sit over what they click or match their text queries; tests/run-toasts.test.ts turns them on.
 */
export async function newPage(browser: Browser, baseURL: string, options: { runToasts?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 }, colorScheme: 'dark', acceptDownloads: true })
  // Only when the browser has no choice yet, so a test that flips the switch keeps its choice across loads.
  await context.addInitScript((on) => {
    if (localStorage.getItem('switchyard.toasts') === null) localStorage.setItem('switchyard.toasts', on ? 'on' : 'off')
  }, options.runToasts ?? false)
  context.setDefaultTimeout(20_000)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  ;(page as Page & { consoleErrors: string[] }).consoleErrors = errors
  return { context, page }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(path.join(ARTIFACTS, 'screenshots'), { recursive: true })
  const file = path.join(ARTIFACTS, 'screenshots', `${name}.png`)
  await page.screenshot({ path: file })
  return file
}
