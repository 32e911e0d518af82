/**
 * Console hardening journeys (issue #10, items 6 and 8–17) against the real product: the server
 * process, real Postgres, a real OpenSSH server on loopback, Debian's Chromium. Seeded through the
 * API; each step waits on what the page shows. A connection outage is made with Playwright's WebSocket
 * routing: the page's sockets are proxied to the real server and closed the way a server in a database
 * outage closed them (4500), and new ones are refused until the outage ends.
 */
import { rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core'
import { startSshd, type TestSshd } from '../../server/test/harness/sshd.ts'
import { axeBothThemes } from '../harness/axe.ts'
import { launchBrowser, newPage, screenshot } from '../harness/browser.ts'
import { ARTIFACTS, startServer, type E2eServer } from '../harness/server.ts'
import { describeDatabaseState } from '../../server/test/harness/database-state.ts'

let server: E2eServer
let sshd: TestSshd
let browser: Browser
let page: Page
let context: BrowserContext
const ids: Record<string, string> = {}

const gql = <T = any>(q: string, v?: Record<string, unknown>) => server.gql<T>(q, v)

async function signedIn(viewport?: { width: number; height: number }): Promise<{ page: Page; context: BrowserContext }> {
  const p = await newPage(browser, server.url)
  if (viewport) await p.page.setViewportSize(viewport)
  await p.page.addInitScript((t) => {
    localStorage.setItem('switchyard.session', JSON.stringify({ token: t, expiresAt: new Date(Date.now() + 3600e3).toISOString(), user: { id: 'x', username: 'admin', role: 'ADMIN' } }))
  }, server.adminToken)
  return p
}

async function template(name: string, jobType: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await gql<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: { name, jobType, visibility: 'GLOBAL', config, targetSelector: jobType === 'noop' || jobType === 'http' ? {} : { tags: ['hard'] }, ...extra },
  })
  return r.createJobTemplate.id
}
const trigger = async (templateId: string) => (await gql<{ triggerJobRun: { id: string; number: number } }>(`mutation($t: ID!) { triggerJobRun(templateId: $t) { id number } }`, { t: templateId })).triggerJobRun
async function runStatus(id: string): Promise<string> {
  return (await gql<{ jobRun: { status: string } }>(`query($id: ID!) { jobRun(id: $id) { status } }`, { id })).jobRun.status
}
const focused = (p: Page) => p.evaluate(() => {
  const el = document.activeElement as HTMLElement | null
  return { tag: el?.tagName ?? '', name: el?.getAttribute('name') ?? '', label: el?.getAttribute('aria-label') ?? '', text: (el?.textContent ?? '').trim() }
})

beforeAll(async () => {
  rmSync(path.join(ARTIFACTS, 'screenshots', 'hardening'), { recursive: true, force: true })
  ;[server, sshd, browser] = await Promise.all([startServer(), startSshd(), launchBrowser()])
  const cred = await gql<{ createCredential: { id: string } }>(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
    i: { name: 'hard-key', kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey },
  })
  ids.credential = cred.createCredential.id
  await gql(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'hard-host', host: sshd.hosts[0], port: sshd.port, credentialId: ids.credential, tags: ['hard'] } })
  ;({ page, context } = await signedIn())
})

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && page) {
    console.error('browser errors:', (page as Page & { consoleErrors: string[] }).consoleErrors.join('\n'))
    await screenshot(page, `failed-hardening-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => {})
  }
  if (ctx.task.result?.state === 'fail' && server) console.error(`server log (last 8 kB):\n${server.log().slice(-8192)}`)
  if (ctx.task.result?.state === 'fail' && server) console.error(await describeDatabaseState(server.db.url).catch((e: Error) => `database state: ${e.message}`))
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
  await sshd?.stop()
})

describe('console hardening', () => {
  it('8: Run now and Delete work on a template’s own page; dialogs focus their first field and give focus back (13)', async () => {
    const id = await template('hard noop', 'noop', { message: 'hello' })
    await page.goto(`/templates/${id}`)
    await page.locator('input[name="name"]').waitFor()
    const runNow = page.getByRole('main').getByRole('button', { name: 'Run now', exact: true })
    await runNow.click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    // No parameters: the primary button has focus, not the dialog's close button.
    expect(await focused(page)).toMatchObject({ tag: 'BUTTON', text: 'Run now' })
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    expect(await focused(page)).toMatchObject({ tag: 'BUTTON', text: 'Run now' })
    await runNow.click()
    await dialog.getByRole('button', { name: 'Run now' }).click()
    await page.waitForURL(/\/runs\/[^/]+$/)
    await page.locator('.page-head [data-status="SUCCEEDED"]').waitFor()

    await page.goto(`/templates/${id}`)
    await page.getByRole('main').getByRole('button', { name: 'Delete' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Delete template' }).click()
    await page.waitForURL(/\/templates$/)
    const { jobTemplates } = await gql<{ jobTemplates: Array<{ name: string }> }>(`{ jobTemplates(search: "hard noop") { name } }`)
    expect(jobTemplates).toEqual([])

    // A form dialog focuses its first field.
    await page.goto('/targets')
    await page.getByRole('button', { name: 'New target' }).click()
    expect(await focused(page)).toMatchObject({ tag: 'INPUT', name: 'name' })
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    expect(await focused(page)).toMatchObject({ tag: 'BUTTON', text: 'New target' })
  })

  it('9: a cancelled run is shown as cancelled, by whom — not as a failure', async () => {
    const id = await template('hard sleeper', 'command', { commands: ['echo going to sleep; sleep 60'] })
    const run = await trigger(id)
    await page.goto(`/runs/${run.id}`)
    await page.locator('.log-line .txt', { hasText: /^going to sleep$/ }).waitFor()
    await gql(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: run.id })
    await page.locator('.page-head [data-status="CANCELLED"]').waitFor({ timeout: 30_000 })
    await expect.poll(() => page.getByTestId('run-cancelled').textContent()).toMatch(/^Cancelled by admin at /)
    expect(await page.locator('.alert.error').count()).toBe(0)
    expect(await page.getByTestId('run-progress').textContent()).toMatch(/1 of 1 target done, 1 cancelled$/)
    expect(await page.getByTestId('run-progress').textContent()).not.toMatch(/failed/)
    expect(await page.locator('.progress .p-err').evaluate((el) => el.getBoundingClientRect().width)).toBe(0)
    // Its status change was announced.
    expect(await page.getByTestId('run-announcer').textContent()).toBe(`Run #${run.number} is now cancelled.`)
    // 17: a retry is linked from the run it retried.
    await page.getByRole('button', { name: 'Retry', exact: true }).click()
    await page.waitForURL((u) => !u.pathname.endsWith(run.id))
    await page.goto(`/runs/${run.id}`)
    await page.getByTestId('run-retries').getByRole('link').waitFor()
    const retry = (await gql<{ jobRun: { retries: Array<{ id: string }> } }>(`query($id: ID!) { jobRun(id: $id) { retries { id } } }`, { id: run.id })).jobRun.retries[0]!
    await gql(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: retry.id })
  })

  it('6, 10: a lost connection shows; the console recovers by itself from a 4500 close and refetches; 4403 signs out', async () => {
    const { page: p, context: c } = await signedIn()
    let outage = false
    const open: WebSocketRoute[] = []
    await p.routeWebSocket(/\/graphql/, (ws) => {
      if (outage) {
        // The old server during a database outage: every new connection closed with 4500.
        void ws.close({ code: 4500, reason: 'database unavailable' })
        return
      }
      ws.connectToServer()
      open.push(ws)
    })
    const id = await template('hard slow', 'command', { commands: ['echo started; sleep 4; echo finished'] })
    const run = await trigger(id)
    await p.goto(`/runs/${run.id}`)
    await expect.poll(() => p.getByTestId('live-state').textContent(), { timeout: 15_000 }).toBe('Live')
    await p.locator('.log-line .txt', { hasText: /^started$/ }).waitFor()

    outage = true
    for (const ws of open.splice(0)) await ws.close({ code: 4500, reason: 'database unavailable' })
    // The first retry fails too (refused with 4500): then it says disconnected.
    await expect.poll(() => p.getByTestId('live-state').textContent(), { timeout: 15_000 }).toBe('Disconnected — changes are not shown')
    // The run page no longer claims it is running or live.
    await p.getByTestId('run-stale').waitFor()
    expect(await p.locator('.page-head [data-status]').first().textContent()).toBe('Last known: running')
    await expect.poll(() => p.getByTestId('log-state').textContent(), { timeout: 15_000 }).toBe('Disconnected — not updating')
    await screenshot(p, 'run-disconnected')

    // The run ends while the page is cut off.
    await expect.poll(() => runStatus(run.id), { timeout: 30_000 }).toBe('SUCCEEDED')
    outage = false
    await expect.poll(() => p.getByTestId('live-state').textContent(), { timeout: 30_000 }).toMatch(/^(Reconnected|Live)$/)
    // Nothing stale stays up: the status and the log caught up without a reload.
    await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 15_000 })
    await p.locator('.log-line .txt', { hasText: /^finished$/ }).waitFor()
    expect(await p.getByTestId('run-stale').count()).toBe(0)

    // A refused session (4403) is not retried: it signs out.
    for (const ws of open.splice(0)) await ws.close({ code: 4403, reason: 'Forbidden' })
    await p.waitForURL(/\/login/)
    await c.close()
  })

  it('11: phones get a menu with navigation, sign-out and theme; panels are not crushed; the schedules table fits at 1280 px', async () => {
    const { page: p, context: c } = await signedIn({ width: 390, height: 844 })
    await p.goto('/dashboard')
    await p.getByTestId('success-rate').waitFor()
    expect(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    const widths = await p.locator('.panel').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width))
    expect(Math.min(...widths)).toBeGreaterThan(300)
    const nav = p.getByRole('navigation', { name: 'Main' })
    expect(await nav.isVisible()).toBe(false)
    await p.getByRole('button', { name: 'Menu' }).click()
    await nav.getByRole('link', { name: 'Runs', exact: true }).waitFor()
    expect(await p.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true)
    expect(await p.getByRole('button', { name: /Switch to (light|dark) theme/ }).isVisible()).toBe(true)
    expect(await axeBothThemes(p, 'phone menu')).toEqual([])
    await screenshot(p, 'phone-menu')
    await nav.getByRole('link', { name: 'Runs', exact: true }).click()
    await p.waitForURL(/\/runs$/)
    await expect.poll(() => nav.isVisible()).toBe(false)
    await c.close()

    const tpl = await template('hard schedule target', 'noop', {})
    await gql(`mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`, {
      i: { name: 'hard nightly backup of every core switch', templateId: tpl, kind: 'CRON', cronExpression: '30 2 * * 1-5', timezone: 'America/Argentina/Buenos_Aires' },
    })
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.goto('/schedules')
    const row = page.locator('tr[data-schedule="hard nightly backup of every core switch"]')
    await row.waitFor()
    const scroll = page.locator('.table-scroll').first()
    expect(await scroll.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true)
    const button = await row.getByRole('button', { name: /^Run now: / }).boundingBox()
    expect(button!.x + button!.width).toBeLessThanOrEqual(1280)
    await page.setViewportSize({ width: 1440, height: 900 })
  })

  it('12: the log fills the screen at 1280×800, with full screen, wrap and copy', async () => {
    const { page: p, context: c } = await signedIn({ width: 1280, height: 800 })
    await c.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    const long = 'x'.repeat(400)
    const id = await template('hard lines', 'command', { commands: [`seq 1 300; echo ${long}; echo last-line`] })
    const run = await trigger(id)
    await p.goto(`/runs/${run.id}`)
    await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
    const viewport = p.getByTestId('log-viewport')
    expect((await viewport.boundingBox())!.height).toBeGreaterThan(600)
    await p.getByRole('button', { name: 'Full screen' }).click()
    const box = (await p.getByTestId('log-panel').boundingBox())!
    expect(box).toMatchObject({ x: 0, y: 0, width: 1280, height: 800 })
    const last = p.locator('.log-line .txt', { hasText: /^last-line$/ })
    await last.waitFor()
    const lastBox = (await last.boundingBox())!
    expect(lastBox.y + lastBox.height).toBeLessThanOrEqual(800)
    await screenshot(p, 'run-log-fullscreen')
    // Wrap: the 400-character line takes several rows.
    const longLine = p.locator('.log-line', { has: p.locator('.txt', { hasText: long }) })
    expect((await longLine.boundingBox())!.height).toBe(20)
    await p.getByRole('button', { name: 'Wrap' }).click()
    await expect.poll(async () => (await longLine.boundingBox())!.height).toBeGreaterThan(40)
    await p.getByRole('button', { name: 'Copy' }).click()
    await expect.poll(() => p.getByTestId('log-copied').textContent()).toMatch(/^Copied \d+ lines$/)
    expect(await p.evaluate(() => navigator.clipboard.readText())).toContain('last-line')
    await p.keyboard.press('Escape')
    await p.getByRole('button', { name: 'Full screen' }).waitFor()
    await c.close()
  })

  it('14: config backup asks for commands one per row, with labels in words and only the fields that apply', async () => {
    await page.goto('/templates/new')
    await page.locator('input[name="name"]').fill('hard backup')
    const labels = async () => (await page.locator('.panel', { hasText: 'settings' }).locator('label, legend').allTextContents()).join('|')
    expect(await labels()).toContain('PTY') // the command job type's boolean, not "Pty"
    await page.locator('select[name="jobType"]').selectOption('config_backup')
    await page.locator('input[name="config.commands.0.command"]').fill('uname -a')
    await page.getByRole('button', { name: 'Add command' }).click()
    await page.locator('input[name="config.commands.1.command"]').fill('cat /etc/hostname')
    await page.locator('input[name="config.commands.1.path"]').fill('{target.name}/hostname.txt')
    await page.locator('input[name="config.repository"]').fill('git@git.example.net:net/configs.git')
    // SSH remote: SSH settings show, the HTTPS CA does not.
    await page.getByText('Repository host keys', { exact: true }).waitFor()
    expect(await page.getByText('Repository key parameter', { exact: true }).count()).toBe(1)
    expect(await page.locator('[name="config.repositoryCaCertificate"]').count()).toBe(0)
    const text = await labels()
    expect(text).toContain('Repository credential')
    expect(text).not.toMatch(/Pty|Env\b|Repository ca certificate|repositoryCredentialId/)
    expect(await page.locator('.panel', { hasText: 'settings' }).textContent()).not.toMatch(/repositoryCredentialId|`/)
    await page.locator('select[name="config.repositoryCredentialId"]').selectOption({ label: `hard-key (key, ${sshd.user})` })
    await page.locator('input[name="config.repository"]').fill('https://git.example.net/net/configs.git')
    await page.locator('textarea[name="config.repositoryCaCertificate"]').waitFor()
    expect(await page.getByText('Repository host keys', { exact: true }).count()).toBe(0)
    expect(await page.getByText('Repository key parameter', { exact: true }).count()).toBe(0)
    await page.locator('input[name="config.repository"]').fill('git@git.example.net:net/configs.git')
    expect(await axeBothThemes(page, 'template form (config backup)')).toEqual([])
    await screenshot(page, 'template-form-config-backup')
    await page.getByRole('button', { name: 'Create template' }).click()
    // 17: a new template opens on its own page.
    await page.waitForURL(/\/templates\/(?!new)[^/]+$/)
    const { jobTemplates } = await gql<{ jobTemplates: Array<{ config: { commands: unknown[] } }> }>(`{ jobTemplates(search: "hard backup") { config } }`)
    expect(jobTemplates[0]!.config.commands).toEqual(['uname -a', { command: 'cat /etc/hostname', path: '{target.name}/hostname.txt' }])
  })

  it('14: http settings have real editors — authorization by type, statuses, headers and a body check — and save what they show', async () => {
    await page.goto('/templates/new')
    await page.locator('input[name="name"]').fill('hard http basic')
    await page.locator('select[name="jobType"]').selectOption('http')
    await page.locator('input[name="config.url"]').fill(`${server.url}/healthz`)
    const settings = page.locator('.panel', { hasText: 'settings' })
    // No JSON text box is left for these fields.
    expect(await settings.locator('textarea[placeholder="JSON"]').count()).toBe(0)
    // GET sends no body: the field only shows for methods that send one.
    expect(await page.locator('[name="config.body"]').count()).toBe(0)
    await page.locator('select[name="config.method"]').selectOption('POST')
    await page.locator('textarea[name="config.body"]').fill('{"probe": true}')
    // Authorization: a type, then that type's fields.
    expect(await page.locator('input[name="config.auth.username"]').count()).toBe(0)
    await page.locator('select[name="config.auth.type"]').selectOption({ label: 'Basic (user name + SECRET password parameter)' })
    await page.locator('input[name="config.auth.username"]').fill('ops')
    await page.locator('input[name="config.auth.passwordParameter"]').fill('api_password')
    expect(await page.locator('[name="config.auth.tokenParameter"]').count()).toBe(0)
    // Statuses one per row; headers as name/value rows.
    await page.locator('[name="config.expectedStatus.0"]').fill('200')
    await page.getByRole('button', { name: 'Add expected status' }).click()
    await page.locator('[name="config.expectedStatus.1"]').fill('3xx')
    await page.getByRole('button', { name: 'Add header' }).click()
    await page.locator('input[name="config.headers.0.name"]').fill('X-Probe')
    await page.locator('input[name="config.headers.0.value"]').fill('e2e')
    // The body check: switched on, then its fields; `equals` only once a JSON path is given.
    expect(await page.locator('[name="config.check.regex"]').count()).toBe(0)
    await page.getByRole('checkbox', { name: 'Check the response body' }).check()
    await page.locator('input[name="config.check.jsonPath"]').fill('status')
    await page.locator('input[name="config.check.equals"]').fill('ok')
    const labels = (await settings.locator('label, legend').allTextContents()).join('|')
    expect(labels).toContain('JSON path')
    expect(labels).not.toMatch(/jsonPath|passwordParameter|expectedStatus/)
    expect(await axeBothThemes(page, 'template form (http)')).toEqual([])
    await screenshot(page, 'template-form-http')
    await page.getByRole('button', { name: 'Create template' }).click()
    await page.waitForURL(/\/templates\/(?!new)[^/]+$/)
    const { jobTemplates } = await gql<{ jobTemplates: Array<{ id: string; config: Record<string, unknown> }> }>(`{ jobTemplates(search: "hard http basic") { id config } }`)
    expect(jobTemplates[0]!.config).toMatchObject({
      method: 'POST',
      url: `${server.url}/healthz`,
      body: { probe: true },
      auth: { type: 'basic', username: 'ops', passwordParameter: 'api_password' },
      expectedStatus: [200, '3xx'],
      headers: { 'X-Probe': 'e2e' },
      check: { jsonPath: 'status', equals: 'ok' },
    })
    expect(jobTemplates[0]!.config.auth).toEqual({ type: 'basic', username: 'ops', passwordParameter: 'api_password' })
    // Reopened, the editors show what was saved.
    await page.goto(`/templates/${jobTemplates[0]!.id}`)
    expect(await page.locator('select[name="config.auth.type"]').inputValue()).toBe('basic')
    expect(await page.locator('input[name="config.auth.username"]').inputValue()).toBe('ops')
    expect(await page.locator('[name="config.expectedStatus.1"]').inputValue()).toBe('3xx')
    expect(await page.locator('input[name="config.check.equals"]').inputValue()).toBe('ok')
  })

  // (It found a bug: a target going RUNNING did not move the run's version, so live pages kept a running
  // retry's target at PENDING until the next run-level change — run-store's markTargetStarted.)
  it('10: while a retry runs, the first attempt’s error is shown as history, not as the run’s current state', async () => {
    // Fails the first time (leaving a flag on the target), runs on the second.
    const flag = `/tmp/switchyard-e2e-retry-${process.pid}-${Date.now()}`
    const id = await template('hard retry', 'command', { commands: [`if [ -e ${flag} ]; then echo second attempt; sleep 60; else touch ${flag}; echo first attempt; exit 3; fi`] }, { retryMaxAttempts: 2, retryDelaySeconds: 0 })
    const run = await trigger(id)
    try {
      await page.goto(`/runs/${run.id}`)
      await page.locator('.log-line .txt', { hasText: /^second attempt$/ }).waitFor({ timeout: 60_000 })
      await page.locator('.page-head [data-status="RUNNING"]').waitFor()
      await expect.poll(() => page.getByTestId('earlier-attempt-error').textContent()).toMatch(/^Attempt 1 failed: .+\. Attempt 2 of 2 is running\.$/)
      // Nothing presents the old error as what is happening now.
      expect(await page.locator('.alert.error').count()).toBe(0)
      const row = page.locator('tr[data-target="hard-host"]')
      await expect.poll(() => row.locator('[data-status]').first().getAttribute('data-status'), { timeout: 15_000 }).toBe('RUNNING')
      expect(await row.locator('td').nth(4).textContent()).toBe('2') // the target's attempt
      expect((await row.locator('td').nth(5).textContent())!.trim()).toBe('') // no error on the running attempt
      expect(await page.getByTestId('run-progress').textContent()).not.toMatch(/failed/)
      await screenshot(page, 'run-retry-running')
    } finally {
      await gql(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: run.id }).catch(() => {})
      rmSync(flag, { force: true })
    }
  })

  it('17: Recent failures stays inside its panel at 1280 px and on a phone, with a long template name and a long error', async () => {
    const longName = `hard-${'very-long-template-name-'.repeat(6)}end`
    // The run fails before any request: its error names the (160-character) parameter, in one unbreakable word.
    const id = await template(longName, 'http', { url: `${server.url}/healthz`, auth: { type: 'bearer', tokenParameter: `t${'x'.repeat(160)}` } })
    const run = await trigger(id)
    await expect.poll(() => runStatus(run.id), { timeout: 30_000 }).toBe('FAILED')
    for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
      const { page: p, context: c } = await signedIn(viewport)
      await p.goto('/dashboard')
      const table = p.getByTestId('recent-failures')
      await table.locator('tr', { hasText: longName }).waitFor()
      expect(await table.locator('tr', { hasText: longName }).textContent()).toContain('has no value')
      const boxes = await p.locator('section.panel', { has: table }).evaluate((panel) =>
        [panel, panel.querySelector('.panel-body')!, panel.querySelector('table')!].map((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, right: el.getBoundingClientRect().right })),
      )
      for (const b of boxes) expect(b.scroll, `${viewport.width} px: ${JSON.stringify(boxes)}`).toBeLessThanOrEqual(b.client)
      expect(boxes[2]!.right).toBeLessThanOrEqual(boxes[0]!.right)
      expect(boxes[0]!.right).toBeLessThanOrEqual(viewport.width)
      expect(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
      await screenshot(p, `dashboard-recent-failures-${viewport.width}`)
      await c.close()
    }
  })

  it('15: a paused schedule’s editor says paused instead of previewing next runs', async () => {
    const tpl = await template('hard paused target', 'noop', {})
    const s = await gql<{ createJobSchedule: { id: string } }>(`mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`, {
      i: { name: 'hard paused', templateId: tpl, kind: 'CRON', cronExpression: '0 3 * * *', timezone: 'UTC', active: false },
    })
    await page.goto(`/schedules/${s.createJobSchedule.id}`)
    await expect.poll(() => page.getByTestId('schedule-paused').textContent()).toMatch(/^Paused — this schedule starts no runs/)
    expect(await page.getByTestId('upcoming').count()).toBe(0)
    await page.getByRole('switch').check()
    await expect.poll(() => page.getByTestId('upcoming').count()).toBe(5)
    expect(await page.getByTestId('schedule-paused').count()).toBe(0)
  })

  it('16: errors say what is wrong in words, and focus moves to the first invalid field', async () => {
    await page.goto('/templates/new')
    await page.locator('input[name="name"]').waitFor()
    await page.locator('input[name="config.connectTimeoutSeconds"]').fill('0')
    await page.getByRole('button', { name: 'Create template' }).click()
    const nameField = page.locator('.field', { has: page.locator('input[name="name"]') })
    await expect.poll(() => nameField.locator('.error').textContent()).toBe('Enter a name for the template.')
    expect(await focused(page)).toMatchObject({ tag: 'INPUT', name: 'name' })
    expect(await page.locator('.alert.error').first().textContent()).toBe('3 fields need attention: see the messages under them.')
    const timeout = page.locator('.field', { has: page.locator('input[name="config.connectTimeoutSeconds"]') })
    expect(await timeout.locator('.error').textContent()).toBe('0 is too small: must be at least 1 (and at most 300).')
    const commands = page.locator('.field', { has: page.getByLabel('Command 1', { exact: true }) })
    expect(await commands.locator('.error').textContent()).toBe('Add at least one command.')

    await page.goto('/schedules/new')
    await page.locator('input[name="cronExpression"]').fill('61 * * * *')
    const cron = page.locator('.field', { has: page.locator('input[name="cronExpression"]') })
    await expect.poll(() => cron.locator('.error').textContent()).toMatch(/^61 is out of range for the minute \(or second\) field: use 0 to 59\.$/)
  })

  it('13: a skip link leads to the content; no serious or critical axe-core violations on any page, in either theme', async () => {
    await page.goto('/dashboard')
    await page.getByTestId('success-rate').waitFor()
    await page.keyboard.press('Tab')
    expect(await focused(page)).toMatchObject({ tag: 'A', text: 'Skip to content' })
    await page.keyboard.press('Enter')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main')

    const problems: string[] = []
    const { jobRuns } = await gql<{ jobRuns: { edges: Array<{ node: { id: string } }> } }>(`{ jobRuns(first: 1) { edges { node { id } } } }`)
    const { jobTemplates } = await gql<{ jobTemplates: Array<{ id: string }> }>(`{ jobTemplates(search: "hard") { id } }`)
    const { jobSchedules } = await gql<{ jobSchedules: Array<{ id: string }> }>(`{ jobSchedules { id } }`)
    const pages: Array<[string, string, string]> = [
      ['dashboard', '/dashboard', '[data-testid="success-rate"]'],
      ['runs', '/runs', '[data-testid="runs-table"]'],
      ['run', `/runs/${jobRuns.edges[0]!.node.id}`, '[data-testid="log-state"]'],
      ['templates', '/templates', 'tr[data-template]'],
      ['template', `/templates/${jobTemplates[0]!.id}`, 'input[name="name"]'],
      ['new template', '/templates/new', 'input[name="name"]'],
      ['schedules', '/schedules', 'tr[data-schedule]'],
      ['schedule', `/schedules/${jobSchedules[0]!.id}`, '[data-testid="schedule-preview"]'],
      ['new schedule', '/schedules/new', 'input[name="cronExpression"]'],
      ['targets', '/targets', 'tr[data-target]'],
      ['inventories', '/inventories', 'main h1'],
      ['credentials', '/credentials', 'tr[data-credential]'],
      ['account', '/account', '[data-testid="profile-role"]'],
      ['users', '/users', 'tr[data-user]'],
      ['audit', '/audit', '[data-testid="audit-table"]'],
      ['inventory sources', '/inventory-sources', 'main h1'],
      ['notifications', '/notifications', '[data-testid="channels-table"], main .empty'],
      ['delivery log', '/notifications/deliveries', '[data-testid="deliveries-table"], main .empty'],
      ['ticket trackers', '/notifications/tickets', '[data-testid="trackers-table"], main .empty'],
      ['workflows', '/workflows', 'main h1'],
      ['new workflow', '/workflows/new', '[data-testid="workflow-graph"]'],
      ['workflow runs', '/workflow-runs', 'main h1'],
      ['approvals', '/approvals', 'main h1'],
    ]
    for (const [name, url, ready] of pages) {
      await page.goto(url)
      await page.locator(ready).first().waitFor()
      await page.locator('.skeleton').first().waitFor({ state: 'detached' }).catch(() => {})
      problems.push(...(await axeBothThemes(page, name)))
    }
    // Dialogs too: a form dialog and a confirmation.
    await page.goto('/targets')
    await page.getByRole('button', { name: 'New target' }).click()
    await page.getByRole('dialog').waitFor()
    problems.push(...(await axeBothThemes(page, 'new target dialog')))
    await page.keyboard.press('Escape')
    // The sign-in page, signed out.
    const anon = await browser.newContext({ baseURL: server.url })
    const login = await anon.newPage()
    await login.goto('/login')
    await login.locator('input[name="username"]').waitFor()
    problems.push(...(await axeBothThemes(login, 'login')))
    await anon.close()
    expect(problems, problems.join('\n')).toEqual([])
  })
})
