#!/usr/bin/env node
// Copies the README's screenshots from the last e2e run (e2e/artifacts/screenshots) to docs/screenshots.
// Run `npm test --workspace @switchyard/e2e` first, then `npm run screenshots --workspace @switchyard/e2e`.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'

const NAMES = ['dashboard', 'dashboard-light', 'run-live', 'run-detail', 'runs', 'templates', 'template-form', 'schedules', 'schedule-form', 'targets', 'credentials', 'inventories', 'account', 'users', 'login', 'run-200k-lines', 'inventory-source-dry-run', 'notifications', 'notification-deliveries', 'workflow-editor', 'workflow-run-done', 'approvals-inbox', 'workflow-run-phone', 'checkmk-comparison', 'monitoring-sync', 'webhook-created', 'template-dependencies', 'workflow-run-failed', 'workflow-run-retried']
const from = new URL('../artifacts/screenshots/', import.meta.url)
const to = new URL('../../docs/screenshots/', import.meta.url)
mkdirSync(to, { recursive: true })
const missing = NAMES.filter((n) => !existsSync(new URL(`${n}.png`, from)))
if (missing.length) {
  console.error(`missing screenshots (run the e2e tests first): ${missing.join(', ')}`)
  process.exit(1)
}
for (const n of NAMES) copyFileSync(new URL(`${n}.png`, from), new URL(`${n}.png`, to))
console.log(`copied ${NAMES.length} screenshots to docs/screenshots/`)
