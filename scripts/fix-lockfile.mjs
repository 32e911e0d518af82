#!/usr/bin/env node
// Re-adds lockfile entries for turbo's platform binaries that the npm registry we build against does
// not carry (only the Linux ones are mirrored). Without an entry per optional dependency, `npm ci`
// refuses the lockfile as out of sync, even though these packages are never installed on Linux.
// Run after any `npm install` that rewrites package-lock.json: `node scripts/fix-lockfile.mjs`.
import fs from 'node:fs'

const file = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(fs.readFileSync(file, 'utf8'))
const turbo = lock.packages['node_modules/turbo']
const platforms = { 'darwin-64': ['darwin', 'x64'], 'darwin-arm64': ['darwin', 'arm64'], 'windows-64': ['win32', 'x64'], 'windows-arm64': ['win32', 'arm64'], 'linux-arm64': ['linux', 'arm64'] }
let added = 0
for (const [suffix, [os, cpu]] of Object.entries(platforms)) {
  const key = `node_modules/@turbo/${suffix}`
  if (!turbo?.optionalDependencies?.[`@turbo/${suffix}`] || lock.packages[key]) continue
  lock.packages[key] = { version: turbo.version, cpu: [cpu], dev: true, license: 'MIT', optional: true, os: [os] }
  added++
}
if (added) {
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
  fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n')
}
console.log(added ? `added ${added} lockfile entries` : 'lockfile already complete')
