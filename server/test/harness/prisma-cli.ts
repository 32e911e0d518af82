/**
 * Runs Prisma's own CLI (migrate diff / status) against a test database, to check our migrator
 * against the real thing. Where Prisma cannot download its schema-engine binary (these machines),
 * the team's offline shim in ../shared/tools/prisma-offline stands in for it; it is copied and
 * installed under node_modules/.cache once. Elsewhere Prisma fetches its binary as usual.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../../src/config.ts'

const SHARED_TOOL = path.resolve(REPO_ROOT, '..', 'shared', 'tools', 'prisma-offline')
const CACHE = path.join(REPO_ROOT, 'node_modules', '.cache', 'prisma-offline')

function engineShim(): string | undefined {
  if (process.env.PRISMA_SCHEMA_ENGINE_BINARY) return process.env.PRISMA_SCHEMA_ENGINE_BINARY
  if (!fs.existsSync(SHARED_TOOL)) return undefined
  const shim = path.join(CACHE, 'schema-engine-wasm-shim.mjs')
  if (!fs.existsSync(path.join(CACHE, 'node_modules', 'prisma'))) {
    fs.rmSync(CACHE, { recursive: true, force: true })
    fs.cpSync(SHARED_TOOL, CACHE, { recursive: true })
    fs.chmodSync(CACHE, 0o755)
    for (const f of fs.readdirSync(CACHE)) fs.chmodSync(path.join(CACHE, f), 0o755)
    execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: CACHE, stdio: 'ignore' })
  }
  return shim
}

/**
 * Prisma's CLI, once more when it fails as a program (exit 1: it could not run, e.g. starved on a loaded
 * machine — seen in full-suite runs, never alone). A real finding is not retried: `migrate diff
 * --exit-code` says "the schema differs" with 2. The first failure is printed so it stays visible.
 */
export function prismaCli(args: string[], databaseUrl: string): { status: number | null; stdout: string; stderr: string } {
  const first = prismaCliOnce(args, databaseUrl)
  if (first.status !== 1) return first
  console.warn(`prisma ${args.join(' ')} exited 1; running it again. Its output:\n${first.stdout}\n${first.stderr}`)
  return prismaCliOnce(args, databaseUrl)
}

function prismaCliOnce(args: string[], databaseUrl: string): { status: number | null; stdout: string; stderr: string } {
  const shim = engineShim()
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'prisma', 'build', 'index.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, ...(shim ? { PRISMA_SCHEMA_ENGINE_BINARY: shim } : {}), CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}
