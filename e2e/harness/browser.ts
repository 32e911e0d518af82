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

export async function newPage(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 }, colorScheme: 'dark', acceptDownloads: true })
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
