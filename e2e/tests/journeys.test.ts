/**
 * Browser journeys against the real product: the server process `npm start` runs (API + worker +
 * the built UI on one origin), real Postgres, a real OpenSSH server on loopback, Debian's Chromium.
 * Each step waits on what the page shows (never on time); screenshots go to e2e/artifacts/screenshots.
 */
import crypto from 'node:crypto'
import { rmSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startCheckmk, type TestCheckmk } from '../../server/test/harness/checkmk.ts'
import { nautobotInstalled, startNautobot, type TestNautobot } from '../../server/test/harness/nautobot.ts'
import { REDMINE_PROJECT, redmineInstalled, startRedmine } from '../../server/test/harness/redmine.ts'
import { decodeHeader, startSmtpServer } from '../../server/test/harness/smtp-server.ts'
import { startSshd, unusedLoopbackPort, type TestSshd } from '../../server/test/harness/sshd.ts'
import { axeBothThemes } from '../harness/axe.ts'
import { launchBrowser, newPage, screenshot } from '../harness/browser.ts'
import { ADMIN_PASSWORD, ARTIFACTS, startServer, type E2eServer } from '../harness/server.ts'
import { describeDatabaseState } from '../../server/test/harness/database-state.ts'

let server: E2eServer
let sshd: TestSshd
let browser: Browser
let page: Page

beforeAll(async () => {
  rmSync(path.join(ARTIFACTS, 'screenshots'), { recursive: true, force: true })
  ;[server, sshd, browser] = await Promise.all([startServer(), startSshd(), launchBrowser()])
  ;({ page } = await newPage(browser, server.url))
})

afterEach(async (ctx) => {
  // A failing step leaves a picture of the page behind.
  if (ctx.task.result?.state === 'fail' && page) console.error('browser errors:', (page as Page & { consoleErrors: string[] }).consoleErrors.join('\n'))
  if (ctx.task.result?.state === 'fail' && page) await screenshot(page, `failed-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {})
  // The server is shared by every journey: what it said just before the failure is the first clue.
  if (ctx.task.result?.state === 'fail' && server) console.error(`server log (last 8 kB):\n${server.log().slice(-8192)}`)
  if (ctx.task.result?.state === 'fail' && server) console.error(await describeDatabaseState(server.db.url).catch((e: Error) => `database state: ${e.message}`))
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
  await sshd?.stop()
})

const runStatus = (p: Page) => p.locator('.page-head [data-status]').first()
const nav = (p: Page) => p.getByRole('navigation', { name: 'Main' })

describe('operator journey', () => {
  it('signs in and sees the empty dashboard with the role shown', async () => {
    await page.goto('/')
    await page.waitForURL(/\/login/)
    await screenshot(page, 'login')
    await page.locator('input[name="username"]').fill('admin')
    await page.locator('input[name="password"]').fill('wrong-password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('.alert.error').textContent()).toMatch(/Wrong username or password/)
    await page.locator('input[name="password"]').fill(ADMIN_PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(/\/dashboard$/)
    await expect.poll(() => page.getByTestId('current-role').textContent()).toBe('Admin')
    await page.getByText('Nothing running').waitFor()
    await expect.poll(() => page.getByTestId('live-state').textContent()).toBe('Live')
  })

  it('creates a credential, showing the API field error next to the secret first', async () => {
    await page.getByRole('link', { name: 'Credentials' }).click()
    await page.getByText('No credentials yet').waitFor()
    await page.getByRole('button', { name: 'New credential' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.locator('input[name="name"]').fill('e2e-key')
    await dialog.locator('input[name="username"]').fill(sshd.user)
    await dialog.getByRole('button', { name: 'Create credential' }).click()
    // The API names input.privateKey; the form shows it under that field.
    const keyField = dialog.locator('.field', { has: page.locator('textarea[name="privateKey"]') })
    await expect.poll(() => keyField.locator('.error').textContent()).toMatch(/required/)
    expect(await dialog.locator('textarea[name="privateKey"]').getAttribute('aria-invalid')).toBe('true')
    await dialog.locator('textarea[name="privateKey"]').fill(sshd.privateKey)
    await dialog.getByRole('button', { name: 'Create credential' }).click()
    await page.locator('tr[data-credential="e2e-key"]').waitFor()
    expect(await page.locator('tr[data-credential="e2e-key"]').textContent()).not.toContain('BEGIN')
    await screenshot(page, 'credentials')
  })

  it("lets the credential's owner grant and revoke use to a role", async () => {
    const row = page.locator('tr[data-credential="e2e-key"]')
    await row.getByRole('button', { name: 'Who may use e2e-key' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.getByText('Only the owner and admins').waitFor()
    await dialog.getByRole('button', { name: 'A role' }).click()
    await dialog.getByRole('button', { name: 'Operators' }).click()
    await dialog.getByRole('button', { name: 'Grant use' }).click()
    await dialog.locator('tr[data-grant="OPERATOR"]').waitFor()
    await expect.poll(() => row.textContent()).toContain('Who may use (1)')
    await dialog.getByRole('button', { name: 'Revoke use by OPERATOR' }).click()
    await dialog.getByText('Only the owner and admins').waitFor()
    await dialog.locator('.modal-foot').getByRole('button', { name: 'Close' }).click()
    await expect.poll(() => row.textContent()).not.toContain('Who may use (1)')
  })

  it('creates a target that uses it', async () => {
    await page.getByRole('link', { name: 'Targets' }).click()
    await page.getByText('No targets yet').waitFor()
    await page.getByRole('button', { name: 'New target' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.locator('input[name="name"]').fill('e2e-host')
    await dialog.locator('input[name="host"]').fill(sshd.hosts[0]!)
    await dialog.locator('input[name="port"]').fill(String(sshd.port))
    await dialog.getByLabel('Tags').fill('e2e ')
    await dialog.getByRole('button', { name: 'Create target' }).click()
    const row = page.locator('tr[data-target="e2e-host"]')
    await row.waitFor()
    expect(await row.textContent()).toContain('e2e-key')
  })

  it('creates a template with the generated config form', async () => {
    await page.getByRole('link', { name: 'Templates' }).click()
    await page.getByText('No templates yet').waitFor()
    await page.getByRole('link', { name: 'New template' }).first().click()
    await page.waitForURL(/\/templates\/new$/)
    await page.locator('input[name="name"]').fill('e2e ticker')
    await page.getByLabel('Command 1', { exact: true }).fill('echo "hello {{ greeting }} from {{ target.name }}"; for i in $(seq 1 12); do echo "tick $i"; sleep 0.4; done; echo "warning: almost done" >&2')
    await page.getByRole('button', { name: 'Add parameter' }).click()
    await page.locator('#param-0-name').fill('greeting')
    await page.locator('#param-0-default').fill('world')
    await page.getByRole('group', { name: 'Targets' }).getByLabel('e2e-host').check()
    // Client-side check from the schema: the timeout must be at least 1.
    await page.locator('input[name="config.connectTimeoutSeconds"]').fill('0')
    await page.getByRole('button', { name: 'Create template' }).click()
    await page.getByText('must be at least 1').waitFor()
    await page.locator('input[name="config.connectTimeoutSeconds"]').fill('10')
    await page.locator('input[name="timeoutSeconds"]').fill('120')
    await page.locator('.main').evaluate((el) => el.scrollTo(0, 0))
    await screenshot(page, 'template-form')
    await page.getByRole('button', { name: 'Create template' }).click()
    // A new template opens on its own page.
    await page.waitForURL(/\/templates\/(?!new)[^/]+$/)
    await page.getByRole('main').getByRole('button', { name: 'Run now', exact: true }).waitFor()
    await page.getByRole('link', { name: 'Templates' }).first().click()
    await page.locator('tr[data-template="e2e ticker"]').waitFor()
  })

  it('picks a stored credential for a config backup remote from a list', async () => {
    await page.getByRole('link', { name: 'New template' }).first().click()
    await page.waitForURL(/\/templates\/new$/)
    await page.locator('input[name="name"]').fill('e2e backup')
    await page.locator('select[name="jobType"]').selectOption('config_backup')
    // Commands may be strings or { command, path } objects: a row each, the path optional.
    await page.locator('input[name="config.commands.0.command"]').fill('cat /etc/hostname')
    await page.locator('input[name="config.repository"]').fill('git@git.example.net:net/configs.git')
    const picker = page.locator('select[name="config.repositoryCredentialId"]')
    expect(await picker.locator('option').allTextContents()).toContain(`e2e-key (key, ${sshd.user})`)
    await picker.selectOption({ label: `e2e-key (key, ${sshd.user})` })
    await page.getByRole('group', { name: 'Targets' }).getByLabel('e2e-host').check()
    await page.getByRole('button', { name: 'Create template' }).click()
    await page.waitForURL(/\/templates\/(?!new)[^/]+$/)
    await page.getByRole('link', { name: 'Templates' }).first().click()
    await page.locator('tr[data-template="e2e backup"]').waitFor()
    // Saved as the credential's id, which the server checked exists and is a key.
    const { jobTemplates } = await server.gql<{ jobTemplates: Array<{ config: { repositoryCredentialId: string } }> }>(`{ jobTemplates(search: "e2e backup") { config } }`)
    const { credentials } = await server.gql<{ credentials: Array<{ id: string; name: string }> }>(`{ credentials { id name } }`)
    expect(jobTemplates[0]!.config.repositoryCredentialId).toBe(credentials.find((c) => c.name === 'e2e-key')!.id)
  })

  it('runs it and watches the log stream live until it succeeds', async () => {
    await page.locator('tr[data-template="e2e ticker"]').getByRole('button', { name: 'Run now' }).click()
    const dialog = page.getByRole('dialog')
    expect(await dialog.locator('input[name="greeting"]').inputValue()).toBe('world')
    await dialog.locator('input[name="greeting"]').fill('e2e')
    await dialog.getByRole('button', { name: 'Run now' }).click()
    await page.waitForURL(/\/runs\/[^/]+$/)
    // A line arrives while the run is still running: the log is live, not loaded at the end.
    await page.locator('.log-line .txt', { hasText: /^tick 2$/ }).waitFor()
    expect(await runStatus(page).getAttribute('data-status')).toBe('RUNNING')
    expect(await page.locator('.log-line .txt', { hasText: /^hello 'e2e' from 'e2e-host'$/ }).count()).toBe(1)
    await screenshot(page, 'run-live')
    await page.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
    await page.locator('.log-line .txt', { hasText: /^tick 12$/ }).waitFor()
    await expect.poll(() => page.getByTestId('log-state').textContent()).toBe('Complete')
    expect(await page.locator('[data-testid="run-targets"] tr[data-target="e2e-host"]').textContent()).toMatch(/Succeeded/)
    expect(await page.locator('.log-line.WARNING', { hasText: 'almost done' }).count()).toBe(1)

    // Filters: warnings only, then a search.
    await page.getByLabel('Minimum level').selectOption('WARNING')
    await expect.poll(() => page.locator('.log-line').count()).toBe(1)
    await page.getByLabel('Minimum level').selectOption('')
    await page.getByLabel('Search log').fill('tick 1')
    await expect.poll(() => page.locator('.log-line').count()).toBe(4) // tick 1, 10, 11, 12
    await page.getByLabel('Search log').fill('')
    await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(12)
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download' }).click()
    const file = await download
    expect(file.suggestedFilename()).toMatch(/^switchyard-run-\d+\.log$/)
    await screenshot(page, 'run-detail')
  })

  it('cancels a long run from the UI', async () => {
    await server.gql(
      `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`,
      { i: { name: 'e2e sleeper', jobType: 'command', visibility: 'GLOBAL', config: { commands: ['echo going to sleep; sleep 60; echo woke up'] }, targetSelector: { tags: ['e2e'] } } },
    )
    await page.getByRole('link', { name: 'Templates' }).click()
    await page.locator('tr[data-template="e2e sleeper"]').getByRole('button', { name: 'Run now' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Run now' }).click()
    await page.waitForURL(/\/runs\/[^/]+$/)
    await page.locator('.log-line .txt', { hasText: /^going to sleep$/ }).waitFor()
    await page.getByRole('button', { name: 'Cancel run' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel run' }).click()
    await page.locator('.page-head [data-status="CANCELLED"]').waitFor({ timeout: 30_000 })
    expect(await page.locator('.log-line .txt', { hasText: /^woke up$/ }).count()).toBe(0)
    await expect.poll(() => page.getByTestId('run-duration').textContent()).toMatch(/^[\d.]+ m?s$/) // stopped in (milli)seconds, not after the minute
  })

  it('filters the runs table by status through the URL, and shows new runs live', async () => {
    await page.goto('/runs?status=CANCELLED')
    const rows = page.locator('[data-testid="runs-table"] tbody tr')
    await expect.poll(() => rows.count()).toBe(1)
    expect(await rows.first().getAttribute('data-status')).toBe('CANCELLED')
    expect(await rows.first().textContent()).toContain('e2e sleeper')

    await page.locator('[data-status-filter="SUCCEEDED"]').click()
    await page.waitForURL(/status=CANCELLED%2CSUCCEEDED|status=CANCELLED,SUCCEEDED/)
    await expect.poll(() => rows.count()).toBe(2)
    expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status'))))).toEqual(new Set(['CANCELLED', 'SUCCEEDED']))

    await page.goto('/runs?status=FAILED')
    await page.getByText('No runs match these filters').waitFor()

    // Unfiltered: a run triggered elsewhere appears without a reload.
    await page.goto('/runs')
    await expect.poll(() => rows.count()).toBe(2)
    const tpl = await server.gql<{ jobTemplates: Array<{ id: string }> }>(`{ jobTemplates(search: "e2e ticker") { id } }`)
    const triggered = await server.gql<{ triggerJobRun: { number: number } }>(`mutation($t: ID!) { triggerJobRun(templateId: $t) { number } }`, { t: tpl.jobTemplates[0]!.id })
    await page.locator(`[data-testid="runs-table"] tr[data-run-number="${triggered.triggerJobRun.number}"]`).waitFor()
    await expect.poll(() => rows.count()).toBe(3)
    await page.locator(`tr[data-run-number="${triggered.triggerJobRun.number}"][data-status="SUCCEEDED"]`).waitFor({ timeout: 60_000 })
    await screenshot(page, 'runs')
  })

  it('creates a schedule with a live preview of the next fire times, and runs it now', async () => {
    await page.getByRole('link', { name: 'Schedules' }).click()
    await page.getByText('No schedules yet').waitFor()
    await page.getByRole('link', { name: 'New schedule' }).first().click()
    await page.waitForURL(/\/schedules\/new$/)
    await page.locator('input[name="name"]').fill('e2e nightly')
    await page.locator('select[name="templateId"]').selectOption({ label: 'e2e ticker' })
    await page.locator('input[name="timezone"]').fill('Europe/Berlin')
    const upcoming = page.getByTestId('upcoming')
    await page.locator('input[name="cronExpression"]').fill('*/15 * * * *')
    await expect.poll(async () => (await upcoming.allTextContents()).join('|')).toMatch(/^([^|]*:(00|15|30|45):00 GMT\+[12][^|]*\|){4}[^|]*:(00|15|30|45):00 GMT\+[12]/)
    // A bad expression: the preview's error shows under the field.
    await page.locator('input[name="cronExpression"]').fill('61 * * * *')
    const cronField = page.locator('.field', { has: page.locator('input[name="cronExpression"]') })
    await expect.poll(() => cronField.locator('.error').textContent()).toMatch(/^61 is out of range for the minute/)
    await page.locator('input[name="cronExpression"]').fill('30 2 1 1 *')
    await expect.poll(async () => (await upcoming.allTextContents()).length).toBe(5)
    expect((await upcoming.allTextContents()).every((t) => /01 Jan \d{4}, 02:30:00 GMT\+1/.test(t))).toBe(true)
    await page.getByRole('group', { name: 'Kind' }).getByRole('button', { name: 'Interval' }).click()
    await page.locator('input[name="intervalEvery"]').fill('10')
    await page.getByTestId('schedule-description').filter({ hasText: /10 minutes/i }).waitFor()
    await page.getByRole('group', { name: 'Kind' }).getByRole('button', { name: 'Cron' }).click()
    await expect.poll(async () => (await upcoming.allTextContents())[0] ?? '').toMatch(/02:30:00/)
    await page.locator('.main').evaluate((el) => el.scrollTo(0, 0))
    await screenshot(page, 'schedule-form')
    await page.getByRole('button', { name: 'Create schedule' }).click()
    await page.waitForURL(/\/schedules$/)
    const row = page.locator('tr[data-schedule="e2e nightly"]')
    await row.waitFor()
    expect(await row.textContent()).toContain('Europe/Berlin')
    expect(await row.getByTestId('next-run').textContent()).toMatch(/in \d+d/)
    // Pause and resume.
    await row.getByRole('switch').uncheck()
    await expect.poll(() => row.getByTestId('next-run').textContent()).toBe('paused')
    await row.getByRole('switch').check()
    await expect.poll(() => row.getByTestId('next-run').textContent()).toMatch(/in \d+d/)
    // A recurring blackout window, from the same page.
    await page.getByRole('button', { name: 'New window' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.locator('input[name="name"]').fill('nightly freeze')
    await dialog.locator('input[name="timezone"]').fill('Europe/Berlin')
    await dialog.getByRole('group', { name: 'Days' }).getByRole('button', { name: 'Sat' }).click()
    await dialog.getByRole('button', { name: 'Create window' }).click()
    await page.getByTestId('blackouts-table').getByText('Sat at 22:00 for 120 min').waitFor()
    await screenshot(page, 'schedules')
    await row.getByRole('button', { name: 'Run now: e2e nightly' }).click()
    await page.waitForURL(/\/runs\/[^/]+$/)
    await page.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
    expect(await page.locator('.run-meta').textContent()).toContain('e2e nightly')
  })

  it('creates an API token in the UI that works against the API until it is revoked in the UI', async () => {
    const me = async (token: string) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { username role } }' }),
      })
      return (await res.json()) as { data?: { me: { username: string; role: string } } | null; errors?: Array<{ extensions?: { code?: string } }> }
    }
    await nav(page).getByRole('link', { name: 'Account', exact: true }).click()
    await page.waitForURL(/\/account$/)
    await expect.poll(() => page.getByTestId('profile-role').textContent()).toBe('Admin')
    await page.getByText('No API tokens yet').waitFor()
    await page.getByRole('button', { name: 'Create a token' }).click()
    const dialog = page.getByRole('dialog')
    // Both problems come from the API and show under their fields.
    await dialog.locator('input[name="expiresInDays"]').fill('0')
    await dialog.getByRole('button', { name: 'Create token' }).click()
    const nameField = dialog.locator('.field', { has: page.locator('input[name="name"]') })
    const expiryField = dialog.locator('.field', { has: page.locator('input[name="expiresInDays"]') })
    await expect.poll(() => nameField.locator('.error').textContent()).toMatch(/required/)
    expect(await expiryField.locator('.error').textContent()).toMatch(/1/)
    await dialog.locator('input[name="name"]').fill('e2e grafana')
    await dialog.locator('input[name="expiresInDays"]').fill('30')
    await dialog.getByRole('button', { name: 'Create token' }).click()
    const secret = dialog.getByTestId('new-api-token')
    await secret.waitFor()
    const token = await secret.inputValue()
    expect(token.length).toBeGreaterThan(20)
    expect(await secret.getAttribute('readonly')).not.toBeNull()
    expect(await dialog.textContent()).toMatch(/won’t see it again/)

    // The token works as the admin, from outside the browser.
    expect((await me(token)).data?.me).toEqual({ username: 'admin', role: 'ADMIN' })
    await dialog.getByRole('button', { name: 'Done' }).click()
    // Once the dialog is closed the secret is nowhere in the page or its storage.
    expect(await page.content()).not.toContain(token)
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).not.toContain(token)
    const row = page.locator('tr[data-token="e2e grafana"]')
    await page.reload()
    await row.waitFor()
    expect(await row.getByTestId('token-status').textContent()).toBe('Active')
    expect(await row.textContent()).toContain(token.slice(0, 10))
    await expect.poll(() => row.getByTestId('token-last-used').textContent()).not.toBe('Never')
    await screenshot(page, 'account')

    await row.getByRole('button', { name: 'Revoke e2e grafana' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click()
    await page.locator('tr[data-token="e2e grafana"][data-token-status="revoked"]').waitFor()
    expect(await row.getByRole('button', { name: /Revoke/ }).count()).toBe(0)
    const refused = await me(token)
    expect(refused.data?.me ?? null).toBeNull()
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
  })

  it('lets the admin create a viewer in the UI, who gets no users page and changes their password', async () => {
    await nav(page).getByRole('link', { name: 'Users' }).click()
    await page.waitForURL(/\/users$/)
    const adminRow = page.locator('tr[data-user="admin"]')
    await adminRow.waitFor()
    // Admins cannot demote or disable themselves: the UI does not offer it.
    expect(await adminRow.getByRole('button').count()).toBe(0)
    await page.getByRole('button', { name: 'New user' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.locator('input[name="username"]').fill('auditor')
    await dialog.locator('input[name="password"]').fill('short')
    await dialog.getByRole('group', { name: 'Role' }).getByRole('button', { name: 'Viewer' }).click()
    await dialog.getByRole('button', { name: 'Create user' }).click()
    const passwordField = dialog.locator('.field', { has: page.locator('input[name="password"]') })
    await expect.poll(() => passwordField.locator('.error').textContent()).toMatch(/at least 8 characters/)
    await dialog.locator('input[name="password"]').fill('auditor-password-1')
    await dialog.getByRole('button', { name: 'Create user' }).click()
    const row = page.locator('tr[data-user="auditor"]')
    await row.waitFor()
    expect(await row.getByTestId('user-role').textContent()).toBe('Viewer')
    await screenshot(page, 'users')
    const { users } = await server.gql<{ users: Array<{ username: string; role: string; disabled: boolean }> }>(`{ users { username role disabled } }`)
    expect(users.find((u) => u.username === 'auditor')).toEqual({ username: 'auditor', role: 'VIEWER', disabled: false })

    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('auditor')
    await p.locator('input[name="password"]').fill('auditor-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    await expect.poll(() => p.getByTestId('current-role').textContent()).toBe('Viewer')
    expect(await nav(p).getByRole('link', { name: 'Users' }).count()).toBe(0)
    await p.goto('/users')
    await p.getByText('Admins only').waitFor()
    await nav(p).getByRole('link', { name: 'Account', exact: true }).click()
    await expect.poll(() => p.getByTestId('profile-role').textContent()).toBe('Viewer')
    // A wrong current password: the API names the field, the form shows it there.
    await p.locator('input[name="currentPassword"]').fill('not-my-password')
    await p.locator('input[name="newPassword"]').fill('auditor-password-2')
    await p.locator('input[name="confirmPassword"]').fill('auditor-password-2')
    await p.getByRole('button', { name: 'Change password' }).click()
    const currentField = p.locator('.field', { has: p.locator('input[name="currentPassword"]') })
    await expect.poll(() => currentField.locator('.error').textContent()).toMatch(/not your current password/)
    await p.locator('input[name="currentPassword"]').fill('auditor-password-1')
    await p.getByRole('button', { name: 'Change password' }).click()
    await p.getByTestId('password-changed').waitFor()
    await context.close()
    const login = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { login(username: "auditor", password: "auditor-password-2") { user { role } } }' }),
    })
    expect(((await login.json()) as { data: { login: { user: { role: string } } } }).data.login.user.role).toBe('VIEWER')
  })

  it('shows the admin an audit log of what the journey did, filtered by action family in the URL', async () => {
    await nav(page).getByRole('link', { name: 'Audit log' }).click()
    await page.waitForURL(/\/audit$/)
    const table = page.getByTestId('audit-table')
    const row = (action: string, entity: string) => table.locator(`tr[data-action="${action}"][data-entity="${entity}"]`)
    await row('credential.create', 'e2e-key').waitFor()
    // The key was recorded as changed, never its value.
    expect(await row('credential.create', 'e2e-key').textContent()).toContain('privateKey changed')
    expect(await table.textContent()).not.toContain('BEGIN')
    await row('template.create', 'e2e ticker').waitFor()
    await row('schedule.pause', 'e2e nightly').waitFor()
    await row('user.create', 'auditor').waitFor()
    await row('login.failed', 'admin').waitFor() // the wrong password of the first step
    expect(await row('template.create', 'e2e ticker').textContent()).toContain('admin')

    await page.getByLabel('Action', { exact: true }).selectOption({ label: 'Templates' })
    await page.waitForURL(/\/audit\?action=template$/)
    await row('template.create', 'e2e backup').waitFor()
    const actions = () => table.locator('tbody tr[data-action]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')))
    await expect.poll(async () => [...new Set(await actions())]).toEqual(['template.create'])
    expect(await table.locator('tbody tr[data-action]').count()).toBe(3) // e2e ticker, e2e backup, e2e sleeper
    await screenshot(page, 'audit')
    // The filter is in the URL: a reload keeps it; an entity links to its page.
    await page.reload()
    await row('template.create', 'e2e ticker').getByRole('link', { name: 'e2e ticker' }).click()
    await page.waitForURL(/\/templates\/[^/]+$/)
    await page.locator('input[name="name"]').waitFor()
    expect(await page.locator('input[name="name"]').inputValue()).toBe('e2e ticker')
  })

  it('shows the other pages, both themes, and signs out', async () => {
    await server.gql(`mutation { createInventory(input: { name: "e2e-all", tags: ["e2e"], description: "every e2e host" }) { id } }`)
    await page.goto('/inventories')
    await page.locator('tr[data-inventory="e2e-all"]').waitFor()
    expect(await page.locator('tr[data-inventory="e2e-all"]').textContent()).toContain('1 target')
    await screenshot(page, 'inventories')
    await page.goto('/targets')
    await page.locator('tr[data-target="e2e-host"]').waitFor()
    expect(await page.locator('tr[data-target="e2e-host"]').textContent()).toContain('SHA256:') // trusted on first use
    await screenshot(page, 'targets')
    await page.goto('/templates')
    await page.locator('tr[data-template="e2e ticker"]').waitFor()
    await screenshot(page, 'templates')

    // A failure and a run in progress, seeded through the API, for the dashboard.
    const failing = await server.gql<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'e2e failing', jobType: 'command', visibility: 'GLOBAL', config: { commands: ['echo "disk check failed" >&2; exit 3'] }, targetSelector: { tags: ['e2e'] } },
    })
    await server.gql(`mutation($t: ID!) { triggerJobRun(templateId: $t) { id } }`, { t: failing.createJobTemplate.id })
    const sleeper = await server.gql<{ jobTemplates: Array<{ id: string }> }>(`{ jobTemplates(search: "e2e sleeper") { id } }`)
    const long = await server.gql<{ triggerJobRun: { id: string; number: number } }>(`mutation($t: ID!) { triggerJobRun(templateId: $t) { id number } }`, { t: sleeper.jobTemplates[0]!.id })

    await page.goto('/dashboard')
    await expect.poll(() => page.getByTestId('count-SUCCEEDED').textContent()).toBe('3')
    // The statistics refresh at most every few seconds after changes: wait for the one after the failure.
    await expect.poll(() => page.getByTestId('count-FAILED').textContent(), { timeout: 15_000 }).toBe('1')
    expect(await page.getByTestId('count-CANCELLED').textContent()).toBe('1')
    await expect.poll(() => page.getByTestId('success-rate').textContent()).toBe('75.0%')
    expect(await page.getByTestId('next-scheduled').textContent()).toContain('e2e nightly')
    // The long run shows up as running, live.
    await page.locator(`tr[data-run-number="${long.triggerJobRun.number}"][data-status="RUNNING"]`).waitFor()
    await page.locator('tr', { hasText: 'e2e failing' }).locator('[data-status="FAILED"]').waitFor()
    await screenshot(page, 'dashboard')
    await page.getByRole('button', { name: 'Switch to light theme' }).click()
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light')
    await screenshot(page, 'dashboard-light')
    await page.reload()
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light')
    await page.getByRole('button', { name: 'Switch to dark theme' }).click()
    await server.gql(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: long.triggerJobRun.id })

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/login/)
    await page.goto('/runs')
    await page.waitForURL(/\/login\?next=%2Fruns/)
    expect((page as Page & { consoleErrors: string[] }).consoleErrors.filter((e) => !/401|403|Failed to load resource/.test(e))).toEqual([])
  })
})

describe('large logs', () => {
  it('streams 200,000 lines and keeps the log view virtualized', async () => {
    const { page: p, context } = await newPage(browser, server.url)
    const token = server.adminToken
    await p.addInitScript((t) => {
      localStorage.setItem('switchyard.session', JSON.stringify({ token: t, expiresAt: new Date(Date.now() + 3600e3).toISOString(), user: { id: 'x', username: 'admin', role: 'ADMIN' } }))
    }, token)
    const tpl = await server.gql<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      // Above the default per-run log limit (100,000 lines): the template raises its own.
      i: { name: 'e2e flood', jobType: 'command', visibility: 'GLOBAL', config: { commands: ['seq 1 200000'] }, targetSelector: { tags: ['e2e'] }, logLimitLines: 250000 },
    })
    const run = await server.gql<{ triggerJobRun: { id: string } }>(`mutation($t: ID!) { triggerJobRun(templateId: $t) { id } }`, { t: tpl.createJobTemplate.id })
    await p.goto(`/runs/${run.triggerJobRun.id}`)
    await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 120_000 })
    await expect.poll(() => p.getByLabel('Line counts').textContent(), { timeout: 60_000 }).toMatch(/^200,00\d lines/)
    // Only what is on screen is in the DOM.
    expect(await p.locator('.log-line').count()).toBeLessThan(200)
    await p.locator('.log-line .txt', { hasText: /^200000$/ }).waitFor()
    // Scrolling to the middle renders the middle.
    const t0 = Date.now()
    await p.getByTestId('log-viewport').evaluate((el) => (el.scrollTop = el.scrollHeight / 2))
    await p.locator('.log-line .txt', { hasText: /^10000\d$/ }).first().waitFor()
    expect(Date.now() - t0).toBeLessThan(2000)
    // Searching 200k lines stays responsive.
    await p.getByLabel('Search log').fill('199999')
    await expect.poll(() => p.locator('.log-line').count()).toBe(1)
    await screenshot(p, 'run-200k-lines')
    await context.close()
  })
})

describe('viewer', () => {
  it('sees everything read-only', async () => {
    await server.gql(`mutation { createUser(input: { username: "watcher", password: "watcher-password-1", role: VIEWER }) { id } }`)
    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('watcher')
    await p.locator('input[name="password"]').fill('watcher-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    await expect.poll(() => p.getByTestId('current-role').textContent()).toBe('Viewer')
    await p.getByText('Read-only').waitFor()
    await p.goto('/templates')
    const row = p.locator('tr[data-template="e2e ticker"]')
    await row.waitFor()
    expect(await row.getByRole('button', { name: 'Run now' }).count()).toBe(0)
    expect(await p.getByRole('link', { name: 'New template' }).count()).toBe(0)
    await p.goto('/targets')
    await p.locator('tr[data-target="e2e-host"]').waitFor()
    expect(await p.getByRole('button', { name: 'New target' }).count()).toBe(0)
    await context.close()
  })
})

describe('operator (SWITCHYARD_WORKER_CODE_ROLES=ADMIN, the default)', () => {
  it('is not offered job types that run code on the worker, and is told why', async () => {
    await server.gql(`mutation { createUser(input: { username: "opsie", password: "opsie-password-1", role: OPERATOR }) { id } }`)
    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('opsie')
    await p.locator('input[name="password"]').fill('opsie-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    await p.goto('/templates/new')
    const select = p.locator('select[name="jobType"]')
    await select.waitFor()
    const ansible = select.locator('option[value="ansible_playbook"]')
    expect(await ansible.isDisabled()).toBe(true)
    expect(await ansible.textContent()).toMatch(/not available to you: runs code on the worker/)
    expect(await select.locator('option[value="command"]').isDisabled()).toBe(false)
    expect(await select.inputValue()).not.toBe('ansible_playbook')
    await context.close()
  })

  it("sees why when opening an admin's ansible template", async () => {
    // (The operator cannot edit someone else's template anyway; the reason still says what the type needs.)
    const { createJobTemplate } = await server.gql(`mutation { createJobTemplate(input: { name: "e2e play", jobType: "ansible_playbook", visibility: GLOBAL, config: { playbook: "- hosts: all\\n  tasks: []\\n" } }) { id } }`)
    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('opsie')
    await p.locator('input[name="password"]').fill('opsie-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    await p.goto(`/templates/${encodeURIComponent(createJobTemplate.id)}`)
    await p.getByText(/You may not save templates of this type/).waitFor()
    await expect.poll(() => p.getByText(/executes code on the worker: only ADMIN may/).count()).toBeGreaterThan(0)
    await context.close()
  })
})

/** A page signed in as the admin (the session the login page would store), at a desktop or phone size. */
async function adminPage(viewport?: { width: number; height: number }): Promise<{ page: Page; context: BrowserContext }> {
  const p = await newPage(browser, server.url)
  if (viewport) await p.page.setViewportSize(viewport)
  await p.page.addInitScript((t) => {
    localStorage.setItem('switchyard.session', JSON.stringify({ token: t, expiresAt: new Date(Date.now() + 3600e3).toISOString(), user: { id: 'x', username: 'admin', role: 'ADMIN' } }))
  }, server.adminToken)
  return p
}

/** The page fits the phone's width (tables scroll inside their panel, the page itself never sideways). */
const fitsWidth = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)

interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
}

/**
 * A webhook receiver on loopback: records every request; `/hook` answers 500 to its first request and 200
 * after (so the delivery log shows a retry), `/job` always answers 500 (a failing `http` run).
 */
async function startReceiver(): Promise<{ url: string; received: Received[]; stop(): Promise<void> }> {
  const received: Received[] = []
  let hooks = 0
  const srv: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (body += c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body })
      const ok = req.url === '/hook' && ++hooks > 1
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' }).end(ok ? 'thanks' : 'receiver down for a moment')
    })
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const { port } = srv.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, received, stop: () => new Promise((r) => srv.close(() => r())) }
}

describe('notifications journey', () => {
  it('creates a webhook channel and a RUN_FAILED rule in the UI; a failing run shows up in the delivery log, retried until delivered', async () => {
    const receiver = await startReceiver()
    const secret = 'e2e-webhook-signing-secret'
    await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'e2e hook secret', kind: 'PASSWORD', username: 'hook', password: secret } })
    await server.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'e2e notify failing', jobType: 'http', visibility: 'GLOBAL', config: { url: `${receiver.url}/job` }, targetSelector: {} },
    })
    const { page: p, context } = await adminPage()
    try {
      await p.goto('/notifications')
      await p.getByText('No channels yet').waitFor()
      expect(await axeBothThemes(p, 'notifications (empty)')).toEqual([])

      // A channel: the API's URL error and the form's header check show under their fields.
      await p.getByRole('button', { name: 'Add a channel' }).click()
      const dialog = p.getByRole('dialog')
      await dialog.locator('input[name="name"]').fill('e2e hook')
      await dialog.locator('input[name="url"]').fill('ftp://hooks.example.net/x')
      await dialog.locator('select[name="secretCredentialId"]').selectOption({ label: 'e2e hook secret' })
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const urlField = dialog.locator('.field', { has: p.locator('input[name="url"]') })
      await expect.poll(() => urlField.locator('.error').textContent()).toMatch(/http:\/\/ or https:\/\//)
      expect(await dialog.locator('input[name="url"]').getAttribute('aria-invalid')).toBe('true')
      await dialog.locator('input[name="url"]').fill(`${receiver.url}/hook`)
      await dialog.getByRole('button', { name: 'Add header' }).click()
      await dialog.locator('input[name="headers.0.value"]').fill('network')
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const headersField = dialog.locator('.field', { has: p.locator('input[name="headers.0.name"]') })
      await expect.poll(() => headersField.locator('.error').textContent()).toBe('Every header needs a name.')
      await dialog.locator('input[name="headers.0.name"]').fill('X-Team')
      expect(await axeBothThemes(p, 'new channel dialog')).toEqual([])
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const channelRow = p.locator('tr[data-channel="e2e hook"]')
      await channelRow.waitFor()
      // The signing secret is write-only: the list says it is set, never what it is.
      expect(await channelRow.textContent()).toContain('set')
      expect(await p.content()).not.toContain(secret)

      // Editing shows the secret as "set", with Replace.
      await channelRow.getByRole('button', { name: 'Edit e2e hook' }).click()
      await dialog.getByTestId('secretCredentialId-state').waitFor()
      expect(await dialog.getByTestId('secretCredentialId-state').textContent()).toContain('e2e hook secret')
      await dialog.getByRole('button', { name: 'Replace signing secret' }).click()
      await dialog.locator('select[name="secretCredentialId"]').waitFor()
      await dialog.getByRole('button', { name: 'Cancel' }).click()

      // A rule: at least one event (the API's message under Events), for the chosen template.
      await p.getByRole('button', { name: 'Add a rule' }).click()
      await dialog.locator('input[name="name"]').fill('e2e failures')
      await dialog.locator('input[name="events.RUN_FAILED"]').uncheck()
      await dialog.getByRole('button', { name: 'Create rule' }).click()
      const eventsField = dialog.locator('.field', { has: p.getByRole('group', { name: 'Events' }) })
      await expect.poll(() => eventsField.locator('.error').textContent()).toMatch(/at least one event/)
      await dialog.locator('input[name="events.RUN_FAILED"]').check()
      await dialog.getByRole('group', { name: 'Runs' }).getByRole('button', { name: 'Chosen ones' }).click()
      await dialog.getByRole('group', { name: 'Chosen templates' }).getByLabel('e2e notify failing').check()
      expect(await dialog.locator('input[name="channels.e2e hook"]').isChecked()).toBe(true) // the only channel
      // A tag the API refuses: its message under the tags field.
      await dialog.locator('input[name="tags"]').fill('bad!tag')
      await dialog.getByRole('button', { name: 'Create rule' }).click()
      const tagsField = dialog.locator('.field', { has: p.locator('input[name="tags"]') })
      await expect.poll(() => tagsField.locator('.error').textContent()).toMatch(/tags use letters/)
      await dialog.locator('input[name="tags"]').fill('')
      await dialog.getByRole('button', { name: 'Create rule' }).click()
      const ruleRow = p.locator('tr[data-rule="e2e failures"]')
      await ruleRow.waitFor()
      expect(await ruleRow.textContent()).toContain('Run failed')
      expect(await ruleRow.textContent()).toContain('e2e notify failing')
      expect(await ruleRow.getByRole('switch').isChecked()).toBe(true)
      expect(await axeBothThemes(p, 'notifications')).toEqual([])
      await screenshot(p, 'notifications')
      await p.getByRole('navigation', { name: 'Notifications' }).getByRole('link', { name: 'Delivery log' }).click()
      await p.waitForURL(/\/notifications\/deliveries$/)
      await p.getByText('Nothing delivered yet').waitFor()

      // The failing template, run from the UI.
      await p.goto('/templates')
      await p.locator('tr[data-template="e2e notify failing"]').getByRole('button', { name: 'Run now' }).click()
      await p.getByRole('dialog').getByRole('button', { name: 'Run now' }).click()
      await p.waitForURL(/\/runs\/[^/]+$/)
      await p.locator('.page-head [data-status="FAILED"]').waitFor({ timeout: 60_000 })

      // The run's delivery log (linked from the run): the first attempt met a 500; the log refreshes by
      // itself until it is delivered.
      await p.getByRole('link', { name: 'delivery log' }).click()
      await p.waitForURL(/\/notifications\/deliveries\?run=/)
      await p.getByRole('button', { name: "Show every run's deliveries" }).waitFor()
      const row = p.locator('[data-testid="deliveries-table"] tr[data-event="RUN_FAILED"][data-channel="e2e hook"]')
      await row.waitFor({ timeout: 30_000 })
      expect(await row.textContent()).toContain('e2e notify failing')
      await p.locator('tr[data-channel="e2e hook"][data-status="DELIVERED"]').waitFor({ timeout: 60_000 })
      expect(await row.getByTestId('delivery-attempts').textContent()).toBe('2')
      expect(await row.getByTestId('delivery-answer').textContent()).toBe('HTTP 200')
      expect(await row.textContent()).toMatch(/delivered after \d+/)

      // What the receiver got: the same delivery twice, signed with the secret, with the channel's header.
      const hooks = receiver.received.filter((r) => r.path === '/hook')
      expect(hooks).toHaveLength(2)
      for (const h of hooks) {
        const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(h.headers['x-switchyard-signature'])) ?? []
        expect(v1).toBe(crypto.createHmac('sha256', secret).update(`${t}.${h.body}`).digest('hex'))
        expect(h.headers['x-team']).toBe('network')
      }
      expect(hooks[0]!.headers['x-switchyard-delivery']).toBe(hooks[1]!.headers['x-switchyard-delivery'])
      expect(JSON.parse(hooks[0]!.body)).toMatchObject({ event: 'RUN_FAILED' })

      // Redeliver: the same notification again, as a new delivery at the top of the log.
      await row.getByRole('button', { name: /^Redeliver run failed of run #\d+ to e2e hook$/ }).click()
      await expect.poll(() => row.count()).toBe(2)
      await expect.poll(() => p.locator('tr[data-channel="e2e hook"][data-status="DELIVERED"]').count(), { timeout: 30_000 }).toBe(2)
      expect(await row.first().getByTestId('delivery-attempts').textContent()).toBe('1')
      await expect.poll(() => receiver.received.filter((r) => r.path === '/hook').length).toBe(3)
      const resent = receiver.received.filter((r) => r.path === '/hook')[2]!
      expect(resent.headers['x-switchyard-delivery']).not.toBe(hooks[0]!.headers['x-switchyard-delivery'])
      expect(JSON.parse(resent.body).run).toEqual(JSON.parse(hooks[0]!.body).run)

      // Filters live in the URL.
      await p.locator('[data-delivery-status-filter="FAILED"]').click()
      await p.waitForURL(/status=FAILED/)
      await p.getByText('No deliveries match these filters').waitFor()
      await p.getByRole('button', { name: 'Clear filters' }).first().click()
      await row.first().waitFor()
      expect(await axeBothThemes(p, 'delivery log')).toEqual([])
      await screenshot(p, 'notification-deliveries')

      // On a phone: the same log, scrolling inside its panel.
      await p.setViewportSize({ width: 390, height: 844 })
      await expect.poll(() => nav(p).isVisible()).toBe(false)
      await row.first().waitFor()
      expect(await fitsWidth(p)).toBe(true)
      expect(await axeBothThemes(p, 'delivery log (phone)')).toEqual([])
      await screenshot(p, 'notification-deliveries-phone')
    } finally {
      await context.close()
      await receiver.stop()
    }
  })

  it('sets up an EMAIL channel against a real SMTP server, previews it against a real run, sends a test that arrives, and rules on the new events', async () => {
    const smtpLogin = { user: 'e2e-mailer', password: 'e2e-smtp-password-1' }
    const smtp = await startSmtpServer({ mode: 'starttls', auth: smtpLogin })
    await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'e2e smtp login', kind: 'PASSWORD', username: smtpLogin.user, password: smtpLogin.password } })
    const closed = await unusedLoopbackPort()
    const tpl = await server.gql<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'e2e mail failing', jobType: 'http', visibility: 'GLOBAL', config: { url: `http://127.0.0.1:${closed}/down` }, targetSelector: {} },
    })
    const run = (await server.gql<{ triggerJobRun: { id: string; number: number } }>(`mutation($t: ID!) { triggerJobRun(templateId: $t) { id number } }`, { t: tpl.createJobTemplate.id })).triggerJobRun
    await expect
      .poll(async () => (await server.gql<{ jobRun: { status: string } }>(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: run.id })).jobRun.status, { timeout: 60_000 })
      .toMatch(/FAILED|TIMED_OUT/)
    const { page: p, context } = await adminPage()
    try {
      await p.goto('/notifications')
      await p.getByRole('heading', { name: 'Channels', exact: true }).waitFor()
      await p.getByRole('button', { name: /^(Add a channel|New channel)$/ }).first().click()
      const dialog = p.getByRole('dialog')
      await dialog.locator('input[name="name"]').fill('e2e mail')
      await dialog.locator('select[name="kind"]').selectOption('EMAIL')
      await dialog.locator('input[name="smtpHost"]').fill('127.0.0.1')
      await dialog.locator('input[name="smtpPort"]').fill(String(smtp.port))
      expect(await dialog.getByRole('group', { name: 'Security' }).getByRole('button', { name: 'STARTTLS' }).getAttribute('aria-pressed')).toBe('true')
      await dialog.locator('select[name="smtpCredentialId"]').selectOption({ label: `e2e smtp login (${smtpLogin.user})` })
      await dialog.locator('textarea[name="smtpCaCertificate"]').fill(smtp.certificate!)
      await dialog.locator('textarea[name="emailTo"]').fill('noc@example.test\nnot-an-address')
      // The form's own check first (under Recipients), then the API's (under From).
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const toField = dialog.locator('.field', { has: p.locator('textarea[name="emailTo"]') })
      await expect.poll(() => toField.locator('.error').textContent()).toBe('“not-an-address” is not an email address.')
      await dialog.locator('textarea[name="emailTo"]').fill('noc@example.test\nOn-call <oncall@example.test>')
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const fromField = dialog.locator('.field', { has: p.locator('input[name="emailFrom"]') })
      await expect.poll(() => fromField.locator('.error').textContent()).toMatch(/required for an EMAIL channel/)
      expect(await dialog.locator('input[name="emailFrom"]').getAttribute('aria-invalid')).toBe('true')
      await dialog.locator('input[name="emailFrom"]').fill('Switchyard <switchyard@example.test>')
      expect(await axeBothThemes(p, 'new email channel dialog')).toEqual([])
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const row = p.locator('tr[data-channel="e2e mail"]')
      await row.waitFor()
      expect(await row.getByTestId('channel-kind').textContent()).toBe('Email')
      expect(await row.textContent()).toContain(`127.0.0.1:${smtp.port} → noc@example.test +1`)
      expect(await row.textContent()).toContain('login “e2e smtp login”')
      expect(await p.content()).not.toContain(smtpLogin.password)

      // Editing an EMAIL channel opens its own form, as saved.
      await row.getByRole('button', { name: 'Edit e2e mail' }).click()
      expect(await dialog.locator('select[name="kind"]').inputValue()).toBe('EMAIL')
      expect(await dialog.locator('input[name="smtpHost"]').inputValue()).toBe('127.0.0.1')
      expect(await dialog.locator('textarea[name="emailTo"]').inputValue()).toBe('noc@example.test\nOn-call <oncall@example.test>')
      expect(await dialog.locator('input[name="url"]').count()).toBe(0)
      await dialog.getByRole('button', { name: 'Cancel' }).click()

      // The channel's page: the preview renders the sample run, then the real one.
      await row.getByRole('link', { name: 'e2e mail' }).click()
      await p.waitForURL(/\/notifications\/channels\/[^/]+$/)
      const settings = p.getByTestId('channel-settings')
      expect(await settings.textContent()).toContain(`127.0.0.1:${smtp.port}`)
      expect(await settings.textContent()).toContain('STARTTLS · own CA certificate trusted')
      expect(await settings.textContent()).toContain(`credential “e2e smtp login” (${smtpLogin.user})`)
      const preview = p.getByTestId('message-preview')
      await expect.poll(() => preview.getByTestId('preview-subject').textContent(), { timeout: 15_000 }).toContain('nightly-backup #42 failed')
      await preview.locator('select[name="previewRun"]').selectOption(run.id)
      await expect.poll(() => preview.getByTestId('preview-subject').textContent(), { timeout: 15_000 }).toContain(`e2e mail failing #${run.number} failed`)
      expect(await preview.getByTestId('preview-text').textContent()).toMatch(/Error: request failed: ECONNREFUSED[\s\S]*Run: \/runs\/[0-9a-f-]{36}/)
      expect(await preview.getByTestId('preview-html').getAttribute('sandbox')).toBe('')

      // A template problem shows under its field as you type; a good template re-renders the preview.
      await p.locator('input[name="subjectTemplate"]').fill('{{ nope }} failed')
      const subjectField = p.locator('.field', { has: p.locator('input[name="subjectTemplate"]') })
      await expect.poll(() => subjectField.locator('.error').textContent(), { timeout: 15_000 }).toMatch(/unknown variable "nope"/)
      await p.locator('input[name="subjectTemplate"]').fill('[{{ channel.name }}] {{ run.templateName }} #{{ run.number }} {{ eventLabel }}')
      await p.locator('textarea[name="htmlTemplate"]').fill('<h1>{{ run.templateName }}</h1><p>{{ run.error }}</p><script>document.title = "pwned"</script>')
      await expect.poll(() => preview.getByTestId('preview-subject').textContent(), { timeout: 15_000 }).toContain(`[e2e mail] e2e mail failing #${run.number} failed`)
      await expect.poll(() => subjectField.locator('.error').count()).toBe(0)
      await p.getByRole('button', { name: 'Save templates' }).click()
      await p.getByText('Templates saved.').waitFor()
      expect(await axeBothThemes(p, 'email channel page')).toEqual([])
      await p.locator('.main').evaluate((el) => el.scrollTo(0, 0))
      await screenshot(p, 'notification-channel-email')

      // Send test: one real mail through STARTTLS with the login, the answer in words.
      await preview.getByRole('button', { name: 'Send test' }).click()
      const result = p.getByTestId('test-result')
      await result.waitFor({ timeout: 30_000 })
      expect(await result.getAttribute('data-ok')).toBe('true')
      expect(await result.textContent()).toContain('The mail server accepted the test message (SMTP 250).')
      await expect.poll(async () => (await smtp.mails()).length, { timeout: 15_000 }).toBe(1)
      const [mail] = await smtp.mails()
      expect(mail!.tls).toBe(true)
      expect(mail!.login).toBe(smtpLogin.user)
      expect(mail!.rcptTos).toEqual(['noc@example.test', 'oncall@example.test'])
      expect(decodeHeader(mail!.headers.subject ?? '')).toBe(`[e2e mail] e2e mail failing #${run.number} failed`)
      expect(mail!.html).toContain('<h1>e2e mail failing</h1>')

      // On a phone: the editor and the preview stack, nothing sideways.
      await p.setViewportSize({ width: 390, height: 844 })
      await preview.getByTestId('preview-subject').waitFor()
      expect(await fitsWidth(p)).toBe(true)
      expect(await axeBothThemes(p, 'email channel page (phone)')).toEqual([])
      await p.locator('.main').evaluate((el) => el.scrollTo(0, 0))
      await screenshot(p, 'notification-channel-email-phone')
      await p.setViewportSize({ width: 1280, height: 900 })

      // A rule on the new events: each threshold's problem under it.
      await p.goto('/notifications')
      await p.getByRole('heading', { name: 'Rules', exact: true }).waitFor()
      await p.getByRole('button', { name: /^(Add a rule|New rule)$/ }).first().click()
      await dialog.locator('input[name="name"]').fill('e2e slow or flapping')
      await dialog.locator('input[name="events.RUN_FAILED"]').uncheck()
      await dialog.locator('input[name="events.DURATION_EXCEEDED"]').check()
      await dialog.locator('input[name="events.CONSECUTIVE_FAILURES"]').check()
      await dialog.locator('input[name="consecutiveFailures"]').fill('1')
      await dialog.locator('input[name="channels.e2e mail"]').check()
      await dialog.getByRole('button', { name: 'Create rule' }).click()
      const limitField = dialog.locator('.field', { has: p.locator('input[name="durationLimitSeconds"]') })
      const streakField = dialog.locator('.field', { has: p.locator('input[name="consecutiveFailures"]') })
      await expect.poll(() => limitField.locator('.error').textContent()).toMatch(/Give a limit/)
      expect(await streakField.locator('.error').textContent()).toBe('Between 2 and 1000.')
      await dialog.locator('input[name="durationLimitSeconds"]').fill('15m')
      await dialog.locator('input[name="consecutiveFailures"]').fill('4')
      expect(await axeBothThemes(p, 'rule dialog with thresholds')).toEqual([])
      await dialog.getByRole('button', { name: 'Create rule' }).click()
      const ruleRow = p.locator('tr[data-rule="e2e slow or flapping"]')
      await ruleRow.waitFor()
      expect(await ruleRow.textContent()).toContain('Ran too long (> 15 min)')
      expect(await ruleRow.textContent()).toContain('4 failures in a row')
      const saved = await server.gql<{ notificationRules: Array<{ name: string; durationLimitSeconds: number | null; consecutiveFailures: number | null }> }>(`{ notificationRules { name durationLimitSeconds consecutiveFailures } }`)
      expect(saved.notificationRules.find((r) => r.name === 'e2e slow or flapping')).toMatchObject({ durationLimitSeconds: 900, consecutiveFailures: 4 })
    } finally {
      await context.close()
      await smtp.stop()
    }
  })

  it('sets up a Slack channel (its URL is the secret): the preview is the JSON body, send test says what the receiver answered', async () => {
    const receiver = await startReceiver()
    const { page: p, context } = await adminPage()
    try {
      await p.goto('/notifications')
      await p.getByRole('heading', { name: 'Channels', exact: true }).waitFor()
      await p.getByRole('button', { name: /^(Add a channel|New channel)$/ }).first().click()
      const dialog = p.getByRole('dialog')
      await dialog.locator('input[name="name"]').fill('e2e slack')
      await dialog.locator('select[name="kind"]').selectOption('SLACK')
      await dialog.getByText('This URL is the secret').waitFor()
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const urlField = dialog.locator('.field', { has: p.locator('input[name="url"]') })
      await expect.poll(() => urlField.locator('.error').textContent()).toMatch(/required for a SLACK channel/)
      await dialog.locator('input[name="url"]').fill(`${receiver.url}/hook`)
      await dialog.getByRole('button', { name: 'Create channel' }).click()
      const row = p.locator('tr[data-channel="e2e slack"]')
      await row.waitFor()
      expect(await row.getByTestId('channel-kind').textContent()).toBe('Slack')
      // The list shows only the host: the path carries the token.
      expect(await row.textContent()).toContain(`${new URL(receiver.url).host}/…`)
      expect(await row.textContent()).not.toContain('/hook')

      await row.getByRole('link', { name: 'e2e slack' }).click()
      expect(await p.getByTestId('channel-settings').textContent()).not.toContain('/hook')
      const preview = p.getByTestId('message-preview')
      await preview.locator('[data-testid="preview-body"], [data-testid="preview-error"]').first().waitFor()
      await expect.poll(() => preview.getByTestId('preview-body').textContent(), { timeout: 15_000 }).toContain('"blocks"')
      expect(await p.locator('textarea[name="htmlTemplate"]').count()).toBe(0)
      await p.locator('input[name="subjectTemplate"]').fill('{{ run.templateName }} {{ eventLabel }} ({{ channel.name }})')
      await expect.poll(() => preview.getByTestId('preview-body').textContent(), { timeout: 15_000 }).toContain('nightly-backup failed (e2e slack)')
      expect(await axeBothThemes(p, 'slack channel page')).toEqual([])

      // The receiver answers 500 first, then 200: both in words, with its reply.
      await preview.getByRole('button', { name: 'Send test' }).click()
      const result = p.getByTestId('test-result')
      await result.waitFor({ timeout: 30_000 })
      expect(await result.getAttribute('data-ok')).toBe('false')
      expect(await result.textContent()).toContain('The receiver refused the test message (HTTP 500).')
      expect(await result.textContent()).toContain('A real delivery would try again later.')
      expect(await result.getByTestId('test-response').textContent()).toBe('receiver down for a moment')
      await preview.getByRole('button', { name: 'Send test' }).click()
      await expect.poll(() => p.getByTestId('test-result').getAttribute('data-ok'), { timeout: 30_000 }).toBe('true')
      expect(await p.getByTestId('test-result').textContent()).toContain('The receiver accepted the test message (HTTP 200).')
      const sent = receiver.received.filter((r) => r.path === '/hook')
      expect(sent).toHaveLength(2)
      // Unsaved title edits are previewed, not sent: the test used the saved (default) title.
      expect(sent[1]!.body).not.toContain('(e2e slack)')
      expect(JSON.parse(sent[1]!.body).blocks).toBeInstanceOf(Array)
    } finally {
      await context.close()
      await receiver.stop()
    }
  })

  it('rotates a webhook signing secret: add the next one, retire the old one', async () => {
    const cred = async (name: string) =>
      (await server.gql<{ createCredential: { id: string } }>(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name, kind: 'PASSWORD', username: 'hook', password: `${name}-secret-value` } })).createCredential.id
    const oldId = await cred('e2e rotate old')
    await cred('e2e rotate new')
    const ch = await server.gql<{ createNotificationChannel: { id: string } }>(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, {
      i: { name: 'e2e rotating hook', url: 'http://127.0.0.1:9/hooks/x', secretCredentialId: oldId },
    })
    const { page: p, context } = await adminPage()
    try {
      await p.goto(`/notifications/channels/${ch.createNotificationChannel.id}`)
      const secrets = p.getByTestId('signing-secrets')
      await secrets.locator('[data-secret="current"]').waitFor()
      expect(await secrets.textContent()).toContain('e2e rotate old')
      // Nothing to retire while only one secret signs.
      expect(await secrets.getByRole('button', { name: /^Retire/ }).count()).toBe(0)
      await p.getByRole('button', { name: 'Add next secret' }).click()
      const addField = p.locator('.field', { has: p.locator('select[name="nextSecretCredentialId"]') })
      await expect.poll(() => addField.locator('.error').textContent()).toMatch(/Choose the credential/)
      await p.locator('select[name="nextSecretCredentialId"]').selectOption({ label: 'e2e rotate new' })
      await p.getByRole('button', { name: 'Add next secret' }).click()
      await secrets.locator('[data-secret="next"]').waitFor()
      expect(await secrets.locator('[data-secret="next"]').textContent()).toContain('e2e rotate new')
      expect(await axeBothThemes(p, 'webhook channel page (rotating)')).toEqual([])
      await secrets.getByRole('button', { name: 'Retire current secret “e2e rotate old”' }).click()
      await expect.poll(() => secrets.locator('[data-secret="next"]').count()).toBe(0)
      expect(await secrets.locator('[data-secret="current"]').textContent()).toContain('e2e rotate new')
      await p.getByText('“e2e rotate old” no longer signs.').waitFor()
      const { notificationChannels } = await server.gql<{ notificationChannels: Array<{ name: string; secretCredential: { name: string }; secondarySecretCredential: null | { name: string } }> }>(
        `{ notificationChannels { name secretCredential { name } secondarySecretCredential { name } } }`,
      )
      expect(notificationChannels.find((c) => c.name === 'e2e rotating hook')).toMatchObject({ secretCredential: { name: 'e2e rotate new' }, secondarySecretCredential: null })
    } finally {
      await context.close()
    }
  })

  it('shows notifications only to admins', async () => {
    await server.gql(`mutation { createUser(input: { username: "notify-op", password: "notify-op-password-1", role: OPERATOR }) { id } }`)
    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('notify-op')
    await p.locator('input[name="password"]').fill('notify-op-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    expect(await nav(p).getByRole('link', { name: 'Notifications' }).count()).toBe(0)
    await p.goto('/notifications/deliveries')
    await p.getByText('Admins only').waitFor()
    await context.close()
  })
})

describe('inventory sources journey', () => {
  it('shows form problems under their fields, and an unreachable source in words (test and dry run)', async () => {
    await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'e2e nautobot token', kind: 'PASSWORD', username: 'api', password: 'not-a-real-token-0123456789' } })
    const closed = await unusedLoopbackPort()
    const { page: p, context } = await adminPage()
    try {
      await p.goto('/inventory-sources')
      await p.getByText('No inventory sources yet').waitFor()
      expect(await axeBothThemes(p, 'inventory sources (empty)')).toEqual([])
      await p.getByRole('button', { name: 'New inventory source' }).click()
      const dialog = p.getByRole('dialog')
      const field = (name: string) => dialog.locator('.field', { has: p.locator(`[name="${name}"]`) })
      await dialog.locator('input[name="name"]').fill('e2e unreachable')
      await dialog.locator('input[name="url"]').fill('ftp://nautobot.example.net')
      await dialog.locator('input[name="defaultPort"]').fill('twenty-two')
      await dialog.locator('input[name="maxDeletePercent"]').fill('150')
      // The form's own checks first: nothing is sent while they fail.
      await dialog.getByRole('button', { name: 'Create source' }).click()
      await expect.poll(() => field('defaultPort').locator('.error').textContent()).toMatch(/whole number/)
      expect(await field('maxDeletePercent').locator('.error').textContent()).toMatch(/between 0 and 100/)
      expect(await dialog.locator('.alert.error').first().textContent()).toBe('2 fields need attention: see the messages under them.')
      // Then the API's, each under its field.
      await dialog.locator('input[name="defaultPort"]').fill('22')
      await dialog.locator('input[name="maxDeletePercent"]').fill('25')
      await dialog.getByLabel('Extra tags').fill('bad!tag ')
      await dialog.getByRole('button', { name: 'Create source' }).click()
      await expect.poll(() => field('url').locator('.error').textContent()).toMatch(/http:\/\/ or https:\/\//)
      await expect.poll(() => dialog.locator('.field', { hasText: 'Extra tags' }).locator('.error').textContent()).toMatch(/^Entry 1: /)
      expect(await axeBothThemes(p, 'inventory source dialog')).toEqual([])
      await screenshot(p, 'inventory-source-form-errors')
      // Custom-field mappings and the sync before runs: the form's check, then the API's, under the row's field.
      await dialog.getByRole('button', { name: 'Add custom field mapping' }).click()
      await dialog.locator('input[name="customFieldMappings.0.customField"]').fill('site_code')
      await dialog.locator('input[name="customFieldMappings.0.attribute"]').fill('platform')
      await dialog.locator('input[name="syncBeforeRun"]').check()
      await dialog.locator('input[name="syncBeforeRunMinutes"]').fill('0')
      await dialog.getByRole('button', { name: 'Create source' }).click()
      await expect.poll(() => field('syncBeforeRunMinutes').locator('.error').textContent()).toMatch(/between 1 and 43200/)
      await dialog.locator('input[name="syncBeforeRunMinutes"]').fill('30')
      await dialog.getByRole('button', { name: 'Create source' }).click()
      await expect.poll(() => field('customFieldMappings.0.attribute').locator('.error').textContent()).toMatch(/sets nautobot_id, platform, role, location, status itself/)
      expect(await axeBothThemes(p, 'inventory source dialog (custom fields, sync before runs)')).toEqual([])
      await dialog.locator('input[name="customFieldMappings.0.attribute"]').fill('site_code')
      await dialog.getByRole('button', { name: 'Remove bad!tag' }).click()
      await dialog.locator('input[name="url"]').fill(`http://127.0.0.1:${closed}`)
      await dialog.getByRole('group', { name: 'Mode' }).getByRole('button', { name: 'Authoritative' }).click()
      await dialog.getByRole('button', { name: 'Create source' }).click()
      const row = p.locator('tr[data-source="e2e unreachable"]')
      await row.waitFor()
      expect(await row.textContent()).toContain('never synced')
      expect(await row.textContent()).toContain('Authoritative')

      await row.getByRole('link', { name: 'e2e unreachable', exact: true }).click()
      await p.waitForURL(/\/inventory-sources\/[^/]+$/)
      expect(await p.getByTestId('source-ttl').textContent()).toBe('synced first when older than 30 min; if that fails, the run goes on with a warning')
      expect(await p.getByTestId('source-custom-fields').textContent()).toBe('site_code → attribute site_code')
      await p.getByRole('button', { name: 'Test connection' }).click()
      const test = p.getByTestId('test-result')
      await test.waitFor()
      expect(await test.getAttribute('data-ok')).toBe('false')
      expect(await test.textContent()).toMatch(/^Connection failed\. /)
      await p.getByRole('button', { name: 'Dry run' }).click()
      await expect.poll(() => p.getByTestId('preview-error').textContent()).toMatch(/^The dry run failed: /)
      // Sync now offers force only with a warning that says what it can do.
      await p.getByRole('button', { name: 'Sync now' }).click()
      const sync = p.getByRole('dialog')
      expect(await sync.getByTestId('force-warning').count()).toBe(0)
      await sync.locator('input[name="force"]').check()
      await expect.poll(() => sync.getByTestId('force-warning').textContent()).toMatch(/removes every target whose device is gone/)
      expect(await sync.getByRole('button', { name: 'Force sync' }).count()).toBe(1)
      expect(await axeBothThemes(p, 'sync dialog')).toEqual([])
      await sync.getByRole('button', { name: 'Keep it' }).click()
      expect(await axeBothThemes(p, 'inventory source')).toEqual([])
      await screenshot(p, 'inventory-source-unreachable')
      // On a phone the owner's actions wrap; nothing runs off the side.
      await p.setViewportSize({ width: 390, height: 844 })
      await expect.poll(() => nav(p).isVisible()).toBe(false) // the sidebar has slid away into the menu
      expect(await fitsWidth(p)).toBe(true)
      await screenshot(p, 'inventory-source-phone')
    } finally {
      await context.close()
    }
  })

  // The real Nautobot (scripts/test-peers/nautobot.sh installs it; .ci/run does): a source made in the UI,
  // tested, dry-run and synced, and the targets it made.
  it.skipIf(!nautobotInstalled())('syncs a real Nautobot: test, dry-run diff, sync now, the targets it made', async () => {
    let nb: TestNautobot | null = null
    const { page: p, context } = await adminPage()
    try {
      nb = await startNautobot()
      const ids: Record<string, string> = {}
      ids.active = (await nb.rest('GET', '/api/extras/statuses/?name=Active')).results[0].id
      ids.namespace = (await nb.rest('GET', '/api/ipam/namespaces/?name=Global')).results[0].id
      const locationType = await nb.rest('POST', '/api/dcim/location-types/', { name: 'Site', content_types: ['dcim.device', 'ipam.prefix'] })
      ids.location = (await nb.rest('POST', '/api/dcim/locations/', { name: 'ams1', location_type: locationType.id, status: ids.active })).id
      ids.role = (await nb.rest('POST', '/api/extras/roles/', { name: 'leaf', content_types: ['dcim.device'] })).id
      ids.platform = (await nb.rest('POST', '/api/dcim/platforms/', { name: 'eos' })).id
      const manufacturer = await nb.rest('POST', '/api/dcim/manufacturers/', { name: 'Acme' })
      ids.deviceType = (await nb.rest('POST', '/api/dcim/device-types/', { manufacturer: manufacturer.id, model: 'Box 1' })).id
      await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '10.42.0.0/24', status: ids.active, namespace: ids.namespace, type: 'network' })
      const device = async (name: string, ip?: string) => {
        const d = await nb!.rest('POST', '/api/dcim/devices/', { name, device_type: ids.deviceType, role: ids.role, location: ids.location, status: ids.active, platform: ids.platform })
        if (!ip) return d.id as string
        const iface = await nb!.rest('POST', '/api/dcim/interfaces/', { device: d.id, name: 'mgmt0', type: 'virtual', status: ids.active })
        const addr = await nb!.rest('POST', '/api/ipam/ip-addresses/', { address: ip, status: ids.active, namespace: ids.namespace })
        await nb!.rest('POST', '/api/ipam/ip-address-to-interface/', { ip_address: addr.id, interface: iface.id })
        await nb!.rest('PATCH', `/api/dcim/devices/${d.id}/`, { primary_ip4: addr.id })
        return d.id as string
      }
      await device('leaf1', '10.42.0.1/24')
      await device('leaf2', '10.42.0.2/24')
      await device('leaf3-no-ip')
      await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'e2e real nautobot token', kind: 'PASSWORD', username: 'api', password: nb.token } })

      await p.goto('/inventory-sources')
      await p.getByRole('button', { name: 'New inventory source' }).click()
      const dialog = p.getByRole('dialog')
      await dialog.locator('input[name="name"]').fill('e2e nautobot')
      await dialog.locator('input[name="url"]').fill(nb.url)
      await dialog.locator('select[name="tokenCredentialId"]').selectOption({ label: 'e2e real nautobot token' })
      await dialog.locator('textarea[name="filter.locations"]').fill('ams1')
      await dialog.getByLabel('Extra tags').fill('nautobot ')
      await dialog.getByRole('button', { name: 'Create source' }).click()
      await p.locator('tr[data-source="e2e nautobot"]').getByRole('link', { name: 'e2e nautobot', exact: true }).click()
      await p.waitForURL(/\/inventory-sources\/[^/]+$/)
      expect(await p.getByTestId('source-filter').textContent()).toBe('Locations ams1')

      await p.getByRole('button', { name: 'Test connection' }).click()
      await expect.poll(() => p.getByTestId('test-result').getAttribute('data-ok'), { timeout: 60_000 }).toBe('true')
      expect(await p.getByTestId('test-result').textContent()).toMatch(/^Connection works\. Connected to Nautobot .*the filter selects 3 devices/)

      await p.getByRole('button', { name: 'Dry run' }).click()
      const preview = p.getByTestId('sync-preview')
      await preview.waitFor({ timeout: 60_000 })
      expect(await preview.locator('[data-count="create"] .value').textContent()).toBe('2')
      expect(await preview.locator('[data-count="skipped"] .value').textContent()).toBe('1')
      expect(await p.getByTestId('preview-summary').textContent()).toBe('The source returned 3 devices. A sync now would create 2 targets.')
      expect(await preview.locator('tr[data-diff="create"][data-name="leaf1"]').textContent()).toContain('10.42.0.1:22')
      expect(await preview.locator('tr[data-diff="skipped"][data-name="leaf3-no-ip"]').textContent()).toMatch(/no primary IP/)
      expect(await axeBothThemes(p, 'dry run')).toEqual([])
      await screenshot(p, 'inventory-source-dry-run')

      await p.getByRole('button', { name: 'Sync now' }).click()
      await p.getByRole('dialog').getByRole('button', { name: 'Start sync' }).click()
      const run = p.getByTestId('sync-run')
      await p.locator('[data-testid="sync-run"][data-status="SUCCEEDED"]').waitFor({ timeout: 90_000 })
      await expect.poll(() => p.getByTestId('last-sync').textContent()).toMatch(/2 created, 1 skipped/)
      expect(await p.getByTestId('source-targets').textContent()).toBe('2 targets')

      // A device changed in Nautobot: the dry run shows the field, old → new.
      const leaf2 = (await nb.rest('GET', '/api/dcim/devices/?name=leaf2')).results[0].id
      const spine = (await nb.rest('POST', '/api/extras/roles/', { name: 'spine', content_types: ['dcim.device'] })).id
      await nb.rest('PATCH', `/api/dcim/devices/${leaf2}/`, { role: spine })
      await p.getByRole('button', { name: 'Dry run' }).click()
      const update = p.locator('tr[data-diff="update"][data-name="leaf2"]')
      await update.waitFor({ timeout: 60_000 })
      expect(await update.locator('li[data-field="attributes.role"]').textContent()).toMatch(/leaf → spine/)
      await screenshot(p, 'inventory-source-update-diff')

      // The run it started is linked; the targets page says where its targets come from.
      await run.getByRole('link').click()
      await p.waitForURL(/\/runs\/[^/]+$/)
      await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor()
      await p.goto('/targets')
      await p.locator('tr[data-target="leaf1"]').waitFor()
      expect(await p.locator('tr[data-target="leaf1"] [data-testid="target-source"]').textContent()).toBe('synced from e2e nautobot')
    } finally {
      await context.close()
      await nb?.stop()
    }
  })

  // compare_devices / sync_devices against the real Nautobot and the Checkmk contract server (server/test/harness/checkmk.ts):
  // the template made in the generated form, a comparison from the Monitoring sync page, the dashboard filtered,
  // two missing devices synced with "Sync selected", and a new comparison showing them in sync.
  it.skipIf(!nautobotInstalled())('compares Nautobot with Checkmk, syncs two missing devices from the dashboard, and compares again', async () => {
    let nb: TestNautobot | null = null
    let cmk: TestCheckmk | null = null
    let viewer: { page: Page; context: BrowserContext } | null = null
    const { page: p, context } = await adminPage()
    try {
      ;[nb, cmk] = await Promise.all([startNautobot(), startCheckmk({ activationMs: 300 })])
      const ids: Record<string, string> = {}
      ids.active = (await nb.rest('GET', '/api/extras/statuses/?name=Active')).results[0].id
      ids.namespace = (await nb.rest('GET', '/api/ipam/namespaces/?name=Global')).results[0].id
      const locationType = await nb.rest('POST', '/api/dcim/location-types/', { name: 'Site', content_types: ['dcim.device', 'ipam.prefix'] })
      ids.location = (await nb.rest('POST', '/api/dcim/locations/', { name: 'lab-a', location_type: locationType.id, status: ids.active })).id
      ids.role = (await nb.rest('POST', '/api/extras/roles/', { name: 'edge', content_types: ['dcim.device'] })).id
      const manufacturer = await nb.rest('POST', '/api/dcim/manufacturers/', { name: 'Acme' })
      ids.deviceType = (await nb.rest('POST', '/api/dcim/device-types/', { manufacturer: manufacturer.id, model: 'Box 1' })).id
      await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '10.77.0.0/24', status: ids.active, namespace: ids.namespace, type: 'network' })
      for (const [name, ip] of [['sw1', '10.77.0.1/24'], ['sw2', '10.77.0.2/24'], ['sw3', '10.77.0.3/24']] as const) {
        const d = await nb.rest('POST', '/api/dcim/devices/', { name, device_type: ids.deviceType, role: ids.role, location: ids.location, status: ids.active })
        const iface = await nb.rest('POST', '/api/dcim/interfaces/', { device: d.id, name: 'mgmt0', type: 'virtual', status: ids.active })
        const addr = await nb.rest('POST', '/api/ipam/ip-addresses/', { address: ip, status: ids.active, namespace: ids.namespace })
        await nb.rest('POST', '/api/ipam/ip-address-to-interface/', { ip_address: addr.id, interface: iface.id })
        await nb.rest('PATCH', `/api/dcim/devices/${d.id}/`, { primary_ip4: addr.id })
      }
      // Checkmk already has sw3 (managed, at an old address) and a managed host whose device is gone.
      cmk.state.folders.add('/net')
      cmk.state.folders.add('/net/lab-a')
      cmk.state.hosts.set('sw3', { folder: '/net/lab-a', attributes: { ipaddress: '192.0.2.3', site: cmk.site, labels: { 'switchyard/managed': 'true', 'nautobot/role': 'edge' } }, version: 1 })
      cmk.state.hosts.set('gone-1', { folder: '/net', attributes: { labels: { 'switchyard/managed': 'true' } }, version: 1 })
      const token = (await server.gql<{ createCredential: { id: string } }>(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'e2e cmk nautobot token', kind: 'PASSWORD', username: 'api', password: nb.token } })).createCredential.id
      await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'e2e checkmk automation', kind: 'PASSWORD', username: 'automation', password: 'automation-secret-1' } })
      await server.gql(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, { i: { name: 'e2e cmk lab', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId: token } })

      // The template, in the form generated from compare_devices' schema: pickers for the source and the
      // credential, the mapping as rows; a bad label key is refused in words before a round trip.
      await p.goto('/templates/new')
      await p.locator('input[name="name"]').fill('e2e checkmk compare')
      await p.locator('select[name="jobType"]').selectOption('compare_devices')
      await p.locator('select[name="config.sourceId"]').selectOption({ label: 'e2e cmk lab' })
      await p.locator('input[name="config.checkmk.url"]').fill(cmk.url)
      await p.locator('select[name="config.checkmk.credentialId"]').selectOption({ label: 'e2e checkmk automation (password, automation)' })
      await p.locator('input[name="config.folderTemplate"]').fill('/net/{{ location }}')
      await p.locator('input[name="config.site"]').fill(cmk.site)
      await p.getByRole('button', { name: 'Add label' }).click()
      await p.locator('input[name="config.labels.0.name"]').fill('nautobot role')
      await p.locator('input[name="config.labels.0.value"]').fill('{{ role }}')
      await p.getByRole('button', { name: 'Create template' }).click()
      await p.getByText('“nautobot role” is not a valid name: no spaces or colons.').waitFor()
      await p.locator('input[name="config.labels.0.name"]').fill('nautobot/role')
      await screenshot(p, 'checkmk-template-form')
      await p.getByRole('button', { name: 'Create template' }).click()
      await p.waitForURL(/\/templates\/(?!new)[^/]+$/)
      expect(await p.locator('select[name="config.sourceId"] option:checked').textContent()).toBe('e2e cmk lab')

      // Monitoring sync lists it; Run now compares.
      await nav(p).getByRole('link', { name: 'Monitoring sync' }).click()
      await p.waitForURL(/\/monitoring-sync$/)
      const row = p.locator('tr[data-template="e2e checkmk compare"]')
      await row.getByText('Never run').waitFor()
      const compareNow = async () => {
        await row.getByRole('button', { name: 'Run e2e checkmk compare now' }).click()
        await p.getByRole('dialog').getByRole('button', { name: 'Run now' }).click()
        await p.waitForURL(/\/runs\/[^/]+$/)
        await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 90_000 })
      }
      await compareNow()
      const dash = p.getByTestId('device-results')
      const count = (key: string) => dash.locator(`[data-count="${key}"] .value`).textContent()
      await expect.poll(() => count('MISSING_IN_CHECKMK')).toBe('2')
      expect([await count('EQUAL'), await count('DIFFERENT'), await count('EXTRA_IN_CHECKMK'), await count('SKIPPED')]).toEqual(['0', '1', '1', '0'])
      expect(await p.getByTestId('comparison-summary').textContent()).toBe('0 of 4 in sync; 2 missing in Checkmk, 1 different, 1 extra in Checkmk.')
      // sw3's difference, field by field: Nautobot's value against Checkmk's.
      const diff = dash.locator('tr[data-device="sw3"] tr[data-field="ipaddress"]')
      expect(await diff.locator('td').allTextContents()).toEqual(['10.77.0.3', '192.0.2.3'])
      // An extra host cannot be synced from here.
      expect(await dash.getByRole('checkbox', { name: 'Select gone-1' }).isDisabled()).toBe(true)
      expect(await axeBothThemes(p, 'comparison dashboard')).toEqual([])
      await screenshot(p, 'checkmk-comparison')

      // Filter: the search, then the Missing tile.
      await dash.getByRole('searchbox', { name: 'Search devices' }).fill('sw')
      await expect.poll(() => dash.locator('tr[data-device]').count()).toBe(3)
      await dash.locator('[data-count="MISSING_IN_CHECKMK"]').click()
      await expect.poll(() => dash.locator('tbody > tr[data-device]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device')))).toEqual(['sw1', 'sw2'])
      expect(await dash.getByTestId('device-page').textContent()).toBe('1–2 of 2')
      await dash.getByRole('checkbox', { name: 'Select sw1' }).check()
      await dash.getByRole('checkbox', { name: 'Select sw2' }).check()
      expect(await dash.getByTestId('selected-count').textContent()).toBe('2 devices selected')
      await dash.getByRole('button', { name: 'Sync selected' }).click()
      const dialog = p.getByRole('dialog')
      expect(await dialog.getByTestId('sync-selected-devices').textContent()).toBe('sw1, sw2')
      expect(await dialog.getByRole('checkbox', { name: /Activate/ }).isChecked()).toBe(true)
      await dialog.getByRole('button', { name: 'Start sync' }).click()
      await p.locator('[data-testid="sync-selected-run"][data-status="SUCCEEDED"]').waitFor({ timeout: 90_000 })
      expect([...cmk.state.hosts.keys()].sort()).toEqual(['gone-1', 'sw1', 'sw2', 'sw3'])
      // sw3 was not selected: it keeps its old address.
      expect(cmk.state.hosts.get('sw3')!.attributes.ipaddress).toBe('192.0.2.3')

      // The sync run's page: what it did per device, and the activation.
      await p.getByTestId('sync-selected-run').getByRole('link').click()
      await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor()
      await expect.poll(() => count('CREATED')).toBe('2')
      await expect.poll(() => p.getByTestId('activation-id').count()).toBe(1)
      expect(await dash.locator('tr[data-device="sw1"]').getAttribute('data-action')).toBe('CREATED')

      // A new comparison: the two are in sync now.
      await p.goto('/monitoring-sync')
      await compareNow()
      const recompared = p.url()
      await expect.poll(() => count('EQUAL')).toBe('2')
      expect([await count('MISSING_IN_CHECKMK'), await count('DIFFERENT'), await count('EXTRA_IN_CHECKMK')]).toEqual(['0', '1', '1'])
      await p.goto('/monitoring-sync')
      await expect.poll(() => row.getByTestId('latest-counts').textContent()).toBe('2 in sync1 different1 extra')

      await screenshot(p, 'monitoring-sync')

      // A viewer, on a phone: the dashboard fits the width (the table scrolls inside its panel) and offers
      // no selection, no Sync selected and no Run now.
      await server.gql(`mutation { createUser(input: { username: "cmk-viewer", password: "cmk-viewer-password-1", role: VIEWER }) { id } }`)
      viewer = await newPage(browser, server.url)
      const v = viewer.page
      await v.setViewportSize({ width: 390, height: 844 })
      await v.goto('/login')
      await v.locator('input[name="username"]').fill('cmk-viewer')
      await v.locator('input[name="password"]').fill('cmk-viewer-password-1')
      await v.getByRole('button', { name: 'Sign in' }).click()
      await v.waitForURL(/\/dashboard$/)
      await v.goto(recompared)
      await v.locator('[data-testid="device-results"] [data-count="EQUAL"]').waitFor()
      await expect.poll(() => v.locator('[data-testid="device-results"] tr[data-device]').count()).toBe(4)
      expect(await v.getByRole('button', { name: 'Sync selected' }).count()).toBe(0)
      expect(await v.locator('[data-testid="device-results"] input[type="checkbox"]').count()).toBe(0)
      expect(await fitsWidth(v)).toBe(true)
      await v.getByTestId('device-table').scrollIntoViewIfNeeded()
      await screenshot(v, 'checkmk-comparison-phone')
      await v.goto('/monitoring-sync')
      await v.locator('tr[data-template="e2e checkmk compare"]').getByRole('link', { name: 'Open the latest run of e2e checkmk compare' }).waitFor()
      expect(await v.getByRole('button', { name: /Run .* now/ }).count()).toBe(0)
      expect(await fitsWidth(v)).toBe(true)
    } finally {
      await viewer?.context.close()
      await context.close()
      await Promise.all([nb?.stop(), cmk?.stop()])
    }
  })

  it('lets a viewer see sources without changing them', async () => {
    await server.gql(`mutation { createUser(input: { username: "source-viewer", password: "source-viewer-password-1", role: VIEWER }) { id } }`)
    const { page: p, context } = await newPage(browser, server.url)
    await p.setViewportSize({ width: 390, height: 844 })
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('source-viewer')
    await p.locator('input[name="password"]').fill('source-viewer-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    await p.goto('/inventory-sources')
    const row = p.locator('tr[data-source="e2e unreachable"]')
    await row.waitFor()
    expect(await p.getByRole('button', { name: 'New inventory source' }).count()).toBe(0)
    expect(await fitsWidth(p)).toBe(true)
    await screenshot(p, 'inventory-sources-phone')
    await row.getByRole('link', { name: 'e2e unreachable', exact: true }).click()
    await p.getByText(/may change, test or sync this source/).waitFor()
    expect(await p.getByRole('button', { name: 'Sync now' }).count()).toBe(0)
    expect(await p.getByRole('button', { name: 'Test connection' }).count()).toBe(0)
    expect(await fitsWidth(p)).toBe(true)
    expect(await axeBothThemes(p, 'inventory source (viewer, phone)')).toEqual([])
    await context.close()
  })
})

describe('workflow journey', () => {
  /** A page signed in through the login form (so its own session and live connection). */
  async function signIn(username: string, password: string) {
    const p = await newPage(browser, server.url)
    await p.page.goto('/login')
    await p.page.locator('input[name="username"]').fill(username)
    await p.page.locator('input[name="password"]').fill(password)
    await p.page.getByRole('button', { name: 'Sign in' }).click()
    await p.page.waitForURL(/\/dashboard$/)
    return p
  }

  it('builds a 4-node workflow in the graph editor, runs it, has it approved by a second user, and watches it finish live', async () => {
    await server.gql(`mutation { createJobTemplate(input: { name: "wf noop", jobType: "noop", visibility: GLOBAL, config: {} }) { id } }`)
    await server.gql(`mutation { createUser(input: { username: "approver", password: "approver-password-1", role: OPERATOR }) { id } }`)
    const admin = await signIn('admin', ADMIN_PASSWORD)
    const p = admin.page

    await nav(p).getByRole('link', { name: 'Workflows', exact: true }).click()
    await p.getByText('No workflows yet').waitFor()
    await p.getByRole('link', { name: 'New workflow' }).first().click()
    await p.waitForURL(/\/workflows\/new$/)
    await p.locator('input[name="name"]').fill('e2e deploy')
    // node-1 (the starting node) → approval-1 → node-2 and node-3 (both after the approval).
    await p.locator('select[name="templateId"]').selectOption({ label: 'wf noop' })
    await p.getByRole('button', { name: 'Approval node' }).click()
    await p.locator('textarea').last().fill('Deploy {{ params.site }}?')
    await p.getByRole('button', { name: 'Template node' }).click()
    await p.locator('select[name="templateId"]').selectOption({ label: 'wf noop' })
    await p.getByTestId('workflow-nodes').getByRole('button', { name: 'approval-1', exact: true }).click()
    await p.getByRole('button', { name: 'Template node' }).click()
    // node-3 has no template yet, and the message names a parameter the workflow lacks: the API says
    // both, next to the fields, and opens the first node it names.
    await p.getByTestId('workflow-graph').getByRole('button', { name: /node-1/ }).click()
    await p.getByRole('button', { name: 'Create workflow' }).click()
    await p.getByText('the workflow has no parameter "site"').waitFor()
    expect(await p.locator('input[name="nodeKey"]').inputValue()).toBe('approval-1')
    expect(await p.getByTestId('workflow-graph').locator('[data-node="node-3"]').textContent()).toContain('Has a problem')
    await p.getByRole('button', { name: 'Add parameter' }).click()
    await p.locator('#param-0-name').fill('site')
    await p.locator('#param-0-default').fill('ams')
    await p.getByTestId('workflow-nodes').getByRole('button', { name: 'node-3', exact: true }).click()
    await p.getByText('required for a TEMPLATE node').waitFor()
    await p.locator('select[name="templateId"]').selectOption({ label: 'wf noop' })
    expect(await p.getByTestId('workflow-edges').locator('.wf-edge-row').count()).toBe(3)
    await p.getByTestId('workflow-graph').scrollIntoViewIfNeeded()
    await screenshot(p, 'workflow-editor')
    expect(await axeBothThemes(p, 'workflow editor')).toEqual([])
    await p.getByRole('button', { name: 'Create workflow' }).click()
    await p.waitForURL(/\/workflows\/(?!new)[^/]+$/)

    // Run it: the approval waits, and the admin who triggered it may not approve it.
    await p.getByRole('main').getByRole('button', { name: 'Run now' }).click()
    const dialog = p.getByRole('dialog')
    expect(await dialog.locator('input[name="site"]').inputValue()).toBe('ams')
    await dialog.getByRole('button', { name: 'Run workflow' }).click()
    await p.waitForURL(/\/workflow-runs\/[^/]+$/)
    const graph = p.getByTestId('workflow-graph')
    await graph.locator('[data-node="approval-1"][data-status="AWAITING_APPROVAL"]').waitFor()
    expect(await graph.locator('[data-node="approval-1"]').textContent()).toContain('Awaiting approval')
    expect(await graph.locator('[data-node="node-1"]').textContent()).toContain('Succeeded')
    await p.getByText('Deploy ams?').waitFor()
    await screenshot(p, 'workflow-run-awaiting')
    expect(await axeBothThemes(p, 'workflow run')).toEqual([])
    await p.getByTestId('approval-decision').getByRole('button', { name: 'Approve', exact: true }).click()
    await p.getByText(/self-approval is not allowed/).waitFor()

    // The second user sees it counted in the nav, and approves it from the inbox.
    const second = await signIn('approver', 'approver-password-1')
    await second.page.getByTestId('approvals-count').waitFor()
    expect(await second.page.getByTestId('approvals-count').textContent()).toMatch(/^1 awaiting/)
    await nav(second.page).getByRole('link', { name: /Approvals/ }).click()
    await second.page.locator('[data-approval="approval-1"]').waitFor()
    expect(await axeBothThemes(second.page, 'approvals inbox')).toEqual([])
    await screenshot(second.page, 'approvals-inbox')
    await second.page.getByLabel(/Comment on e2e deploy/).fill('go ahead')
    await second.page.getByRole('button', { name: 'Approve', exact: true }).click()
    await second.page.getByText('Nothing to approve').waitFor()
    // The menu's count follows from the live inbox feed.
    await second.page.getByTestId('approvals-count').waitFor({ state: 'detached' })
    await second.context.close()

    // The first page follows live, to the end.
    await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
    for (const key of ['node-1', 'approval-1', 'node-2', 'node-3']) await graph.locator(`[data-node="${key}"][data-status="SUCCEEDED"]`).waitFor()
    expect(await p.getByTestId('workflow-run-nodes').textContent()).toContain('approver approved: “go ahead”')
    await expect.poll(() => p.getByTestId('workflow-events').textContent(), { timeout: 10_000 }).toMatch(/Awaiting approval[\s\S]*Succeeded/)
    await p.locator('.main').evaluate((el) => el.scrollTo(0, 0))
    await screenshot(p, 'workflow-run-done')

    // On a phone: the graph scrolls inside its panel; the page itself does not scroll sideways.
    await p.setViewportSize({ width: 390, height: 844 })
    await p.getByRole('button', { name: 'Menu' }).waitFor()
    // The drawer slides away when the layout turns into the phone one: wait for that to end.
    await p.locator('#sidebar').evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)))
    await p.locator('.main').evaluate((el) => el.scrollTo(0, 0))
    expect(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true)
    await screenshot(p, 'workflow-run-phone')
    expect(await axeBothThemes(p, 'workflow run (phone)')).toEqual([])
    await p.setViewportSize({ width: 1280, height: 800 })

    // A node opens its job run (logs as for any run).
    await graph.locator('[data-node="node-2"]').click()
    await p.waitForURL(/\/runs\/[^/]+$/)
    await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor()
    // … which links back to its workflow run and node.
    await p.getByRole('link', { name: 'e2e deploy #1' }).waitFor()
    expect(await p.locator('.run-meta').textContent()).toContain('node node-2')

    // The workflow runs list and the dashboard show it.
    await p.goto('/workflow-runs?status=SUCCEEDED')
    await p.locator('tr[data-workflow-run="1"][data-status="SUCCEEDED"]').waitFor()
    expect(await axeBothThemes(p, 'workflow runs')).toEqual([])
    await p.goto('/workflows')
    await p.locator('tr[data-workflow="e2e deploy"]').waitFor()
    expect(await axeBothThemes(p, 'workflows')).toEqual([])
    await screenshot(p, 'workflows')
    await p.goto('/dashboard')
    await p.getByTestId('dashboard-workflow-runs').locator('tr[data-workflow-run="1"]').waitFor()
    await screenshot(p, 'dashboard-workflow-runs')
    await admin.context.close()
  })
})

describe('workflow retry journey', () => {
  it('keeps an API-made workflow (overrides, a nested workflow) unchanged through the editor, and retries a failed node after the template is fixed', async () => {
    const { createCredential } = await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'retry-login', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })
    const { createTarget } = await server.gql(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'retry-host', host: sshd.hosts[0], port: sshd.port, credentialId: createCredential.id } })
    const template = (i: Record<string, unknown>) => server.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { visibility: 'GLOBAL', ...i } }).then((r) => r.createJobTemplate.id as string)
    // The template selects no target by itself: the node's override names the host.
    const produce = await template({ name: 'retry produce', jobType: 'command', config: { commands: ['echo "site=ams" >> "$SWITCHYARD_OUTPUTS"'] }, targetSelector: { tags: ['retry-nothing'] } })
    // Fails until its parameter's default is fixed (the node gives it no value, so the default applies).
    const gateParams = (mode: string) => [{ name: 'mode', type: 'STRING', default: mode }]
    const gate = await template({ name: 'retry gate', jobType: 'command', config: { commands: ['test {{ mode }} = ok'] }, targetSelector: { targetIds: [createTarget.id] }, parameters: gateParams('broken') })
    const noop = await template({ name: 'retry noop', jobType: 'noop', config: {} })
    const wf = (i: Record<string, unknown>) => server.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { visibility: 'GLOBAL', ...i } }).then((r) => r.createWorkflow.id as string)
    const child = await wf({ name: 'retry child', parameters: [{ name: 'site', type: 'STRING', required: true }], nodes: [{ key: 'inner', templateId: noop }] })
    const parent = await wf({
      name: 'retry parent',
      nodes: [
        { key: 'produce', templateId: produce, overrides: { targetSelector: { targetIds: [createTarget.id] }, timeoutSeconds: 120, retryMaxAttempts: 1, retryBackoff: 'EXPONENTIAL' } },
        { key: 'nested', kind: 'WORKFLOW', workflowId: child, parameters: { site: '{{ nodes.produce.outputs.site }}' } },
        { key: 'gate', templateId: gate, joinPolicy: 'ALL_DONE' },
      ],
      edges: [{ from: 'produce', to: 'nested' }, { from: 'nested', to: 'gate' }],
    })
    const saved = async () => {
      const { workflow } = await server.gql(
        `query($id: ID!) { workflow(id: $id) { updatedAt parameters { name type default } edges { from to kind } nodes { key kind joinPolicy parameters template { id } workflow { id } approval { timeoutSeconds } overrides { targetSelector { targetIds inventoryIds tags namePatterns } timeoutSeconds retryMaxAttempts retryDelaySeconds retryBackoff } } } }`,
        { id: parent },
      )
      return workflow as { updatedAt: string } & Record<string, unknown>
    }
    const before = await saved()

    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('admin')
    await p.locator('input[name="password"]').fill(ADMIN_PASSWORD)
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)

    // The editor shows the overrides and the nested workflow; saving it untouched changes nothing.
    await p.goto(`/workflows/${parent}`)
    const overrides = p.getByTestId('node-overrides')
    await overrides.waitFor()
    expect(await overrides.locator('legend').textContent()).toContain('4 set')
    expect(await overrides.getByRole('group', { name: 'Targets' }).getByLabel('retry-host').isChecked()).toBe(true)
    expect(await p.locator('input[name="overrideTimeoutSeconds"]').inputValue()).toBe('120')
    expect(await axeBothThemes(p, 'workflow editor (overrides)')).toEqual([])
    await p.getByTestId('workflow-nodes').getByRole('button', { name: 'nested', exact: true }).click()
    expect(await p.locator('select[name="workflowId"] option:checked').textContent()).toBe('retry child')
    expect(await p.getByTestId('workflow-graph').locator('[data-node="nested"]').textContent()).toContain('Workflow: retry child')
    await p.getByRole('button', { name: 'Save changes' }).click()
    await p.waitForURL(/\/workflows$/)
    const after = await saved()
    expect(after.updatedAt).not.toBe(before.updatedAt)
    expect({ ...after, updatedAt: null }).toEqual({ ...before, updatedAt: null })

    // The child may not run its parent: the API's recursion error shows on the node.
    await p.goto(`/workflows/${child}`)
    await p.getByRole('button', { name: 'Workflow node' }).click()
    await p.locator('select[name="workflowId"]').selectOption({ label: 'retry parent' })
    await p.getByRole('button', { name: 'Save changes' }).click()
    await p.getByText(/recursion: .*retry child.*retry parent.*retry child/).waitFor()
    expect(await p.getByTestId('workflow-graph').locator('[data-node="workflow-1"]').textContent()).toContain('Has a problem')

    // Run the parent: produce publishes its output, the nested run succeeds, the gate fails.
    await p.goto(`/workflows/${parent}`)
    await p.getByRole('main').getByRole('button', { name: 'Run now' }).click()
    await p.getByRole('dialog').getByRole('button', { name: 'Run workflow' }).click()
    await p.waitForURL(/\/workflow-runs\/[^/]+$/)
    const firstRunUrl = p.url()
    await p.locator('.page-head [data-status="FAILED"]').waitFor({ timeout: 60_000 })
    // Run numbers are global (other journeys ran workflows too).
    const first = /Workflow run #(\d+)/.exec((await p.locator('.page-head').textContent()) ?? '')![1]
    const nodesTable = p.getByTestId('workflow-run-nodes')
    await expect.poll(() => nodesTable.locator('tr[data-node="produce"]').getByTestId('node-outputs').textContent()).toContain('ams')
    await nodesTable.locator('tr[data-node="gate"] [data-status="FAILED"]').waitFor()
    const nestedLink = nodesTable.locator('tr[data-node="nested"]').getByTestId('nested-run-link')
    const nestedText = await nestedLink.textContent()
    expect(nestedText).toMatch(/Workflow run #\d+/)
    expect(await axeBothThemes(p, 'failed workflow run')).toEqual([])
    await screenshot(p, 'workflow-run-failed')

    // Fix the template, then retry: only the gate runs again, and the retry succeeds.
    await server.gql(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: gate, i: { parameters: gateParams('ok') } })
    await p.getByRole('button', { name: 'Retry failed nodes' }).click()
    await p.waitForURL((u) => /\/workflow-runs\/[^/]+$/.test(u.pathname) && u.toString() !== firstRunUrl)
    await p.getByTestId('workflow-run-retry-of').waitFor()
    expect(await p.getByTestId('workflow-run-retry-of').textContent()).toContain(`#${first} (failed)`)
    await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
    expect(await p.getByTestId('workflow-run-nodes').locator('tr[data-node="produce"]').textContent()).toContain(`reused from workflow run #${first}`)
    // The reused WORKFLOW node links to the nested run it stands for, the first run's.
    expect(await p.getByTestId('workflow-run-nodes').locator('tr[data-node="nested"]').getByTestId('nested-run-link').textContent()).toBe(nestedText)
    expect(await axeBothThemes(p, 'retried workflow run')).toEqual([])
    await screenshot(p, 'workflow-run-retried')

    // The failed run lists its retry; the nested run links back to its parent.
    await p.goto(firstRunUrl)
    await p.getByTestId('workflow-run-retries').getByRole('link', { name: /#\d+ \(succeeded\)/ }).waitFor()
    expect(await p.getByRole('button', { name: 'Retry failed nodes' }).count()).toBe(1)
    await p.getByTestId('workflow-run-nodes').locator('tr[data-node="nested"]').getByTestId('nested-run-link').click()
    await p.getByTestId('workflow-run-parent').waitFor()
    expect(await p.getByTestId('workflow-run-parent').textContent()).toContain('retry parent')
    expect(await p.getByRole('button', { name: 'Retry failed nodes' }).count()).toBe(0)
    await context.close()
  })
  it('shows a workflow schedule slot skipped by a blackout window as Skipped, with the reason, in the runs list', async () => {
    const { createWorkflow } = await server.gql(`mutation { createWorkflow(input: { name: "blacked out", visibility: GLOBAL, nodes: [{ key: "a", kind: APPROVAL, approval: { timeoutSeconds: 60, approverRoles: [ADMIN] } }] }) { id } }`)
    const now = Date.now()
    const { createBlackoutWindow } = await server.gql(`mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }`, { i: { name: 'e2e freeze', kind: 'ABSOLUTE', startAt: new Date(now - 60_000).toISOString(), endAt: new Date(now + 3_600_000).toISOString() } })
    const { createJobSchedule } = await server.gql(`mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`, { i: { name: 'e2e frozen', workflowId: createWorkflow.id, kind: 'INTERVAL', intervalEvery: 2, intervalUnit: 'SECONDS', blackoutIds: [createBlackoutWindow.id] } })
    const skipped = async () => (await server.gql(`query($w: ID) { workflowRuns(workflowId: $w, statuses: [SKIPPED], first: 1) { totalCount } }`, { w: createWorkflow.id })).workflowRuns.totalCount as number
    await expect.poll(skipped, { timeout: 30_000 }).toBeGreaterThan(0)
    await server.gql(`mutation($id: ID!) { updateJobSchedule(id: $id, input: { active: false }) { id } }`, { id: createJobSchedule.id })

    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('admin')
    await p.locator('input[name="password"]').fill(ADMIN_PASSWORD)
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    await p.goto(`/workflow-runs?workflow=${encodeURIComponent(createWorkflow.id)}&status=SKIPPED`)
    const row = p.locator('tr[data-status="SKIPPED"]').first()
    await row.waitFor()
    expect(await row.textContent()).toMatch(/Skipped.*e2e freeze/)
    expect(await axeBothThemes(p, 'skipped workflow runs')).toEqual([])
    await row.getByRole('link').first().click()
    await p.getByTestId('workflow-run-not-run').waitFor()
    expect(await p.getByTestId('workflow-run-not-run').textContent()).toMatch(/^Skipped: .*e2e freeze/)
    expect(await p.locator('.page-head [data-status="SKIPPED"]').textContent()).toBe('Skipped')
    await context.close()
  })
})

describe('step outputs', () => {
  it('declares a SECRET output in the template form and sees the run publish it, masked', async () => {
    const { createCredential } = await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'outputs-login', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })
    await server.gql(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'outputs-host', host: sshd.hosts[0], port: sshd.port, credentialId: createCredential.id } })
    const { page: p, context } = await newPage(browser, server.url)
    await p.goto('/login')
    await p.locator('input[name="username"]').fill('admin')
    await p.locator('input[name="password"]').fill(ADMIN_PASSWORD)
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(/\/dashboard$/)
    await p.goto('/templates/new')
    await p.locator('select[name="jobType"]').selectOption('command')
    await p.locator('input[name="name"]').fill('e2e outputs')
    await p.getByLabel('Command 1', { exact: true }).fill('echo "site=ams" >> "$SWITCHYARD_OUTPUTS"; echo "token=tk-$((6*7))-e2e" >> "$SWITCHYARD_OUTPUTS"')
    await p.getByRole('button', { name: 'Add output' }).click()
    await p.locator('#output-0-name').fill('token')
    await p.locator('#output-0-kind').selectOption('SECRET')
    await p.locator('#output-0-description').fill('generated on the host')
    await p.getByRole('group', { name: 'Targets' }).getByLabel('outputs-host').check()
    expect(await axeBothThemes(p, 'template form (outputs)')).toEqual([])
    await p.getByRole('button', { name: 'Create template' }).click()
    await p.waitForURL(/\/templates\/(?!new)[^/]+$/)
    await p.getByRole('main').getByRole('button', { name: 'Run now', exact: true }).click()
    await p.getByRole('dialog').getByRole('button', { name: 'Run now' }).click()
    await p.waitForURL(/\/runs\/[^/]+$/)
    await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
    const outputs = p.getByTestId('run-outputs')
    await outputs.waitFor()
    await expect.poll(() => outputs.textContent()).toContain('ams')
    expect(await outputs.textContent()).toContain('••••••')
    expect(await p.locator('main').textContent()).not.toContain('tk-42-e2e')
    expect(await axeBothThemes(p, 'run with outputs')).toEqual([])
    await context.close()
  })
})

describe('triggers journey', () => {
  it('creates a webhook endpoint and a dependency in the UI; a POST to the shown URL starts A, and B runs after it', async () => {
    const params = [{ name: 'repo', type: 'STRING', required: true }, { name: 'env', type: 'STRING', required: false, default: 'lab' }]
    const { createJobTemplate: a } = await server.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'e2e hook target', jobType: 'noop', visibility: 'GLOBAL', config: {}, parameters: params } })
    const { createJobTemplate: b } = await server.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'e2e after hook', jobType: 'noop', visibility: 'GLOBAL', config: {} } })
    const { createWorkflow: flow } = await server.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'e2e scheduled flow', visibility: 'GLOBAL', nodes: [{ key: 'n1', kind: 'TEMPLATE', templateId: b.id }] } })
    const { page: p, context } = await adminPage()
    try {
      // A webhook endpoint for A: the API's limit error shows under its field first.
      await p.goto(`/templates/${a.id}`)
      const hooks = p.getByTestId('webhook-endpoints')
      await hooks.getByText('No webhook endpoints').waitFor()
      await hooks.getByRole('button', { name: 'Create an endpoint' }).click()
      const dialog = p.getByRole('dialog')
      await dialog.locator('input[name="name"]').fill('e2e push')
      // The required parameter without a default starts as a row of its own.
      expect(await dialog.locator('select[name="mapping.0.parameter"]').inputValue()).toBe('repo')
      await dialog.locator('input[name="mapping.0.text"]').fill('/repository/name')
      await dialog.getByRole('button', { name: 'Map a parameter' }).click()
      await dialog.locator('select[name="mapping.1.source"]').selectOption('value')
      await dialog.locator('input[name="mapping.1.text"]').fill('prod')
      await dialog.locator('input[name="rateLimitPerMinute"]').fill('0')
      await dialog.getByRole('button', { name: 'Create endpoint' }).click()
      const rateField = dialog.locator('.field', { has: p.locator('input[name="rateLimitPerMinute"]') })
      await expect.poll(() => rateField.locator('.error').textContent()).toMatch(/at least 1/)
      expect(await axeBothThemes(p, 'new webhook endpoint dialog')).toEqual([])
      await dialog.locator('input[name="rateLimitPerMinute"]').fill('60')
      await dialog.getByRole('button', { name: 'Create endpoint' }).click()

      // The URL, shown once, with a warning and a snippet that uses it.
      const urlBox = p.getByTestId('new-webhook-url')
      await urlBox.waitFor()
      await p.getByText('Copy this URL now: you won’t see it again.').waitFor()
      const url = await urlBox.inputValue()
      expect(url).toMatch(new RegExp(`^${server.url}/hooks/whk_[A-Za-z0-9_-]+$`))
      expect(await p.getByTestId('webhook-snippet').textContent()).toContain(url)
      expect(await p.getByTestId('webhook-snippet').textContent()).toContain('"repository":{"name":"repo"}')
      expect(await axeBothThemes(p, 'webhook URL shown once')).toEqual([])
      await screenshot(p, 'webhook-created')
      await p.getByRole('dialog').getByRole('button', { name: 'Done' }).click()
      await urlBox.waitFor({ state: 'detached' })
      expect(await p.content()).not.toContain(url)

      // Another system calls it.
      const call = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-switchyard-delivery': 'e2e-delivery-1' }, body: JSON.stringify({ repository: { name: 'net-configs' } }) })
      expect(call.status).toBe(202)
      const started = (await call.json()) as { status: string; run: { id: string; number: number } }
      expect(started.status).toBe('STARTED')

      // The call shows up in the endpoint's recent calls, linked to its run.
      const card = p.locator('[data-webhook="e2e push"]')
      const callRow = card.getByTestId('webhook-calls').locator('tr[data-outcome="STARTED"]')
      await callRow.waitFor({ timeout: 20_000 })
      expect(await callRow.textContent()).toContain('e2e-delivery-1')
      expect(await callRow.textContent()).toContain('202')
      expect(await card.textContent()).toContain('repo ← /repository/name')
      expect(await axeBothThemes(p, 'template with a webhook endpoint')).toEqual([])
      await card.scrollIntoViewIfNeeded()
      await screenshot(p, 'webhook-endpoint-calls')
      await callRow.getByRole('link', { name: `Run #${started.run.number}` }).click()
      await p.waitForURL(new RegExp(`/runs/${started.run.id}$`))
      await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
      const meta = p.locator('.run-meta')
      await expect.poll(() => meta.textContent()).toContain('Webhook')
      expect(await meta.getByRole('link', { name: 'e2e push' }).getAttribute('href')).toBe(`/templates/${a.id}`)
      expect(await p.getByRole('main').textContent()).toContain('net-configs')

      // A dependency in the UI: B runs after A succeeds.
      await p.goto(`/templates/${b.id}`)
      const deps = p.getByTestId('dependencies')
      await deps.getByText('No dependencies').waitFor()
      await deps.getByRole('button', { name: 'Add a dependency' }).click()
      await dialog.locator('select[name="otherTemplateId"]').selectOption({ label: 'e2e hook target' })
      expect(await dialog.locator('input[name="onStatuses.SUCCEEDED"]').isChecked()).toBe(true)
      expect(await axeBothThemes(p, 'new dependency dialog')).toEqual([])
      await dialog.getByRole('button', { name: 'Create dependency' }).click()
      const dep = deps.locator('[data-dependency="e2e hook target"][data-direction="AFTER"]')
      await dep.waitFor()
      expect(await dep.textContent()).toContain('Runs after e2e hook target succeeds.')

      // A runs after B would close a cycle: the API's path shows next to the template field.
      await p.goto(`/templates/${a.id}`)
      await p.getByTestId('dependencies').locator('[data-dependency="e2e after hook"][data-direction="TRIGGERS"]').waitFor()
      await p.getByRole('button', { name: 'New dependency' }).click()
      await dialog.locator('select[name="otherTemplateId"]').selectOption({ label: 'e2e after hook' })
      await dialog.getByRole('button', { name: 'Create dependency' }).click()
      const otherField = dialog.locator('.field', { has: p.locator('select[name="otherTemplateId"]') })
      // A would run with these values: its required parameter is checked first, under its field.
      const repoField = dialog.locator('.field', { has: p.locator('input[name="param.repo"]') })
      await expect.poll(() => repoField.locator('.error').textContent()).toMatch(/required/)
      await dialog.locator('input[name="param.repo"]').fill('from-b')
      await dialog.getByRole('button', { name: 'Create dependency' }).click()
      await expect.poll(() => otherField.locator('.error').textContent()).toMatch(/close a cycle: .*e2e hook target.*e2e after hook/)
      expect(await dialog.locator('select[name="otherTemplateId"]').getAttribute('aria-invalid')).toBe('true')
      // The same link again, the other way round, is refused as a duplicate.
      await dialog.getByRole('button', { name: 'e2e hook target starts another' }).click()
      await dialog.getByRole('button', { name: 'Create dependency' }).click()
      await expect.poll(() => otherField.locator('.error').textContent()).toMatch(/already depends/)
      await dialog.getByRole('button', { name: 'Cancel' }).click()

      // The webhook again: A runs, then B after it, linked both ways.
      const second = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-switchyard-delivery': 'e2e-delivery-2' }, body: JSON.stringify({ repository: { name: 'edge' } }) })
      expect(second.status).toBe(202)
      const upstream = ((await second.json()) as { run: { id: string; number: number } }).run
      await p.goto(`/templates/${b.id}`)
      const triggerRow = p.getByTestId('dependencies').getByTestId('dependency-triggers').locator('tr[data-trigger-status="STARTED"]')
      await triggerRow.waitFor({ timeout: 60_000 })
      expect(await triggerRow.getByRole('link', { name: `Run #${upstream.number}` }).count()).toBe(1)
      expect(await axeBothThemes(p, 'template with a dependency')).toEqual([])
      await p.getByTestId('dependencies').scrollIntoViewIfNeeded()
      await screenshot(p, 'template-dependencies')
      await triggerRow.getByRole('link').last().click()
      await p.waitForURL(/\/runs\/[^/]+$/)
      expect(p.url()).not.toContain(upstream.id)
      await p.locator('.page-head [data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 })
      await expect.poll(() => p.locator('.run-meta').textContent()).toMatch(/Dependency[\s\S]*after #\d+ e2e hook target/)
      expect(await p.locator('.run-meta').getByRole('link', { name: `#${upstream.number}` }).getAttribute('href')).toBe(`/runs/${upstream.id}`)

      // Rotating the token shows a new URL once; the old one is refused.
      await p.goto(`/templates/${a.id}`)
      await card.getByRole('button', { name: 'Rotate token' }).click()
      await p.getByRole('dialog').getByRole('button', { name: 'Rotate token' }).click()
      await urlBox.waitFor()
      const rotated = await urlBox.inputValue()
      expect(rotated).not.toBe(url)
      await p.getByRole('dialog').getByRole('button', { name: 'Done' }).click()
      expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404)
      // Disabled, the new URL answers 404 too; enabled again, it starts runs.
      const post = () => fetch(rotated, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ repository: { name: 'x' } }) })
      // The switch is disabled while its change is saved; the badge follows it.
      const onOff = card.getByRole('switch', { name: 'e2e push enabled' })
      await onOff.uncheck()
      await expect.poll(() => onOff.isDisabled()).toBe(false)
      await card.locator('.badge', { hasText: 'Disabled' }).waitFor()
      expect((await post()).status).toBe(404)
      await onOff.check()
      await expect.poll(() => onOff.isDisabled()).toBe(false)
      await card.locator('.badge', { hasText: 'Enabled' }).waitFor()
      expect((await post()).status).toBe(202)
      // Editing shows the saved mapping as rows.
      await card.getByRole('button', { name: 'Edit e2e push' }).click()
      expect(await dialog.locator('input[name="mapping.0.text"]').inputValue()).toMatch(/^(\/repository\/name|prod)$/)
      expect(await dialog.locator('select[name="mapping.1.source"]').count()).toBe(1)
      await dialog.getByRole('button', { name: 'Cancel' }).click()

      // On a phone: the template page with its triggers fits the width.
      await p.setViewportSize({ width: 390, height: 844 })
      await expect.poll(() => nav(p).isVisible()).toBe(false)
      await card.waitFor()
      await card.scrollIntoViewIfNeeded()
      expect(await fitsWidth(p)).toBe(true)
      expect(await axeBothThemes(p, 'template triggers (phone)')).toEqual([])
      await screenshot(p, 'template-triggers-phone')
      await p.setViewportSize({ width: 1280, height: 800 })

      // A schedule can run a workflow: no QUEUE offered for it.
      await p.goto('/schedules/new')
      await p.locator('input[name="name"]').fill('e2e nightly flow')
      await p.getByRole('group', { name: 'Runs' }).getByRole('button', { name: 'A workflow' }).click()
      await p.locator('select[name="workflowId"]').selectOption({ label: 'e2e scheduled flow' })
      const overlapValues = await p.locator('select[name="overlapPolicy"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
      expect(overlapValues).not.toContain('QUEUE')
      expect(await axeBothThemes(p, 'workflow schedule form')).toEqual([])
      await p.getByRole('button', { name: 'Create schedule' }).click()
      await p.waitForURL(/\/schedules$/)
      await p.getByRole('link', { name: 'workflow e2e scheduled flow', exact: true }).waitFor()
      // It has no run-now of its own: the row's Run now… opens the workflow.
      const flowSchedule = p.locator('tr[data-schedule="e2e nightly flow"]')
      expect(await flowSchedule.getByRole('link', { name: /^Run now: e2e nightly flow/ }).getAttribute('href')).toBe(`/workflows/${flow.id}`)
      expect(await axeBothThemes(p, 'schedules with a workflow schedule')).toEqual([])

      // A workflow has webhook endpoints too: a call starts a workflow run, linked from the call.
      await p.goto(`/workflows/${flow.id}`)
      await p.getByTestId('webhook-endpoints').getByRole('button', { name: 'Create an endpoint' }).click()
      await dialog.locator('input[name="name"]').fill('e2e flow hook')
      await dialog.getByRole('button', { name: 'Create endpoint' }).click()
      const flowUrl = await urlBox.inputValue()
      await p.getByRole('dialog').getByRole('button', { name: 'Done' }).click()
      const flowCall = await fetch(flowUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      expect(flowCall.status).toBe(202)
      const flowRun = ((await flowCall.json()) as { workflowRun: { id: string; number: number } }).workflowRun
      const flowRow = p.locator('[data-webhook="e2e flow hook"]').getByTestId('webhook-calls').locator('tr[data-outcome="STARTED"]')
      await flowRow.waitFor({ timeout: 20_000 })
      await flowRow.getByRole('link', { name: `Workflow run #${flowRun.number}` }).click()
      await p.waitForURL(new RegExp(`/workflow-runs/${flowRun.id}$`))
      await expect.poll(() => p.locator('.run-meta').textContent()).toMatch(/Webhook[\s\S]*e2e flow hook/)
    } finally {
      await context.close()
    }
  })
})

describe('tickets journey', () => {
  it.skipIf(!redmineInstalled())('adds a Redmine tracker in the UI (its refusal under the field), then creates a ticket from a failed run that lands in the real Redmine', async () => {
    const receiver = await startReceiver()
    const redmine = await startRedmine().catch(async (e) => {
      await receiver.stop()
      throw e
    })
    const { page: p, context } = await adminPage()
    try {
      await server.gql(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'e2e redmine key', kind: 'PASSWORD', username: 'admin', password: redmine.apiKey } })
      const tpl = await server.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
        i: { name: 'e2e ticket failing', jobType: 'http', visibility: 'GLOBAL', config: { url: `${receiver.url}/job` }, targetSelector: {} },
      })

      // The tracker: Redmine answers 404 for an unknown project, shown under Project.
      await p.goto('/notifications/tickets')
      await p.getByText('No ticket trackers yet').waitFor()
      expect(await axeBothThemes(p, 'tickets admin (empty)')).toEqual([])
      await p.getByRole('button', { name: 'Add a tracker' }).click()
      const dialog = p.getByRole('dialog')
      await dialog.locator('input[name="name"]').fill('e2e redmine')
      await dialog.locator('input[name="url"]').fill(redmine.url)
      await dialog.locator('select[name="credentialId"]').selectOption({ label: 'e2e redmine key' })
      await dialog.locator('input[name="project"]').fill('no-such-project')
      await dialog.getByRole('button', { name: 'Create tracker' }).click()
      const projectField = dialog.locator('.field', { has: p.locator('input[name="project"]') })
      await expect.poll(() => projectField.locator('.error').textContent()).toMatch(/no project "no-such-project"/)
      expect(await dialog.locator('input[name="project"]').getAttribute('aria-invalid')).toBe('true')
      await dialog.locator('input[name="project"]').fill(REDMINE_PROJECT)
      expect(await axeBothThemes(p, 'new tracker dialog')).toEqual([])
      await dialog.getByRole('button', { name: 'Create tracker' }).click()
      const trackerRow = p.locator('tr[data-tracker="e2e redmine"]')
      await trackerRow.waitFor()
      expect(await trackerRow.textContent()).toContain('Redmine')
      expect(await p.content()).not.toContain(redmine.apiKey)

      // A failed run: Create ticket, prefilled; an empty title is refused under its field.
      const run = await server.gql(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl.createJobTemplate.id })
      await p.goto(`/runs/${run.triggerJobRun.id}`)
      await p.locator('.page-head [data-status="FAILED"]').waitFor({ timeout: 60_000 })
      await p.getByRole('button', { name: 'Create ticket' }).click()
      const title = dialog.locator('input[name="title"]')
      await expect.poll(() => title.inputValue()).toMatch(/^e2e ticket failing: run #\d+ failed$/)
      const prefilled = await title.inputValue()
      expect(await dialog.locator('textarea[name="description"]').inputValue()).toContain('Run #')
      await title.fill('')
      await dialog.getByRole('button', { name: 'Create ticket' }).click()
      const titleField = dialog.locator('.field', { has: p.locator('input[name="title"]') })
      await expect.poll(() => titleField.locator('.error').textContent()).toBe('A title is required.')
      await title.fill(prefilled)
      await dialog.locator('select[name="priority"]').selectOption('HIGH')
      expect(await axeBothThemes(p, 'create ticket dialog')).toEqual([])
      await dialog.getByRole('button', { name: 'Create ticket' }).click()

      // The ticket shows on the run with its Redmine link once Redmine made the issue.
      const link = p.getByTestId('ticket-link')
      await link.waitFor({ timeout: 60_000 })
      const href = (await link.getAttribute('href'))!
      expect(href).toMatch(new RegExp(`^${redmine.url}/issues/\\d+$`))
      const issue = (await redmine.rest('GET', `/issues/${href.split('/').pop()}.json`)).issue
      expect(issue.subject).toBe(prefilled)
      expect(issue.priority.name).toBe('High')
      expect(await axeBothThemes(p, 'run with a ticket')).toEqual([])
      await screenshot(p, 'run-ticket')
      // A comment of one's own reaches the issue; an empty one is refused under its field.
      await p.getByRole('button', { name: `Comment on ${prefilled}` }).click()
      await dialog.getByRole('button', { name: 'Add comment' }).click()
      const bodyField = dialog.locator('.field', { has: p.locator('textarea[name="body"]') })
      await expect.poll(() => bodyField.locator('.error').textContent()).toBe('A comment is required.')
      await dialog.locator('textarea[name="body"]').fill('Checked the uplink; replacing the optic tonight.')
      expect(await axeBothThemes(p, 'comment dialog')).toEqual([])
      await dialog.getByRole('button', { name: 'Add comment' }).click()
      await dialog.waitFor({ state: 'detached' })
      const notes = async () => ((await redmine.rest('GET', `/issues/${href.split('/').pop()}.json?include=journals`)).issue.journals as Array<{ notes: string }>).map((j) => j.notes)
      await expect.poll(notes, { timeout: 60_000 }).toContain('Checked the uplink; replacing the optic tonight.')
      // On a phone: the run with its ticket and the trackers page fit the screen's width.
      await p.setViewportSize({ width: 390, height: 844 })
      await p.getByTestId('ticket-link').waitFor()
      expect(await fitsWidth(p)).toBe(true)
      await p.goto('/notifications/tickets')
      await p.locator('tr[data-tracker="e2e redmine"]').waitFor()
      expect(await fitsWidth(p)).toBe(true)
    } finally {
      await context.close()
      await redmine.stop()
      await receiver.stop()
    }
  })
})
