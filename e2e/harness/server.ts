/**
 * Starts the real server the way `npm start` does (the compiled server/dist/main.js with the flags of
 * server's `start` script, in its own process, serving the built UI and the API on one port) against a
 * fresh clone of the test template database.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestDatabase, type TestDatabase } from '../../server/test/harness/database.ts'
import { unusedLoopbackPort } from '../../server/test/harness/sshd.ts'
import { serverStartScript } from '../../server/test/harness/start-script.ts'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const ARTIFACTS = path.join(REPO, 'e2e', 'artifacts')
export const ADMIN_PASSWORD = 'e2e-admin-password'

export interface E2eServer {
  url: string
  db: TestDatabase
  adminToken: string
  /** POSTs a GraphQL operation as the admin; throws on errors. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>
  log(): string
  stop(): Promise<void>
}

export async function startServer(): Promise<E2eServer> {
  if (!existsSync(path.join(REPO, 'client', 'out', 'index.html'))) {
    throw new Error('the web UI is not built: run `npm run build --workspace @switchyard/client` (turbo does this before the e2e tests)')
  }
  if (!existsSync(path.join(REPO, 'server', 'dist', 'main.js'))) {
    throw new Error('the server is not built: run `npm run build --workspace @switchyard/server` (turbo does this before the e2e tests)')
  }
  // `[NAME=value …] node <flags> dist/main.js`, exactly as server/package.json's start script says.
  const start = serverStartScript()
  const db = await createTestDatabase('e2e')
  const port = await unusedLoopbackPort()
  const dataDir = path.join(ARTIFACTS, 'data')
  mkdirSync(dataDir, { recursive: true })
  let output = ''
  const child = spawn(process.execPath, start.args, {
    cwd: path.join(REPO, 'server'),
    env: {
      ...process.env,
      ...start.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SWITCHYARD_SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_HEARTBEAT_SECONDS: '1',
      SWITCHYARD_WORKER_DEAD_AFTER_SECONDS: '4',
      SWITCHYARD_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-512 * 1024)
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHealth(url, child, () => output)
  } catch (e) {
    await stopChild(child)
    await db.drop()
    throw e
  }

  const gql = async <T,>(query: string, variables?: Record<string, unknown>, token: string | null = adminToken): Promise<T> => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    })
    const body = (await res.json()) as { data?: T; errors?: unknown[] }
    if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`)
    return body.data as T
  }
  let adminToken: string | null = null
  adminToken = (await gql<{ login: { token: string } }>('mutation($p:String!){ login(username:"admin", password:$p){ token } }', { p: ADMIN_PASSWORD }, null)).login.token

  return {
    url,
    db,
    adminToken,
    gql: (q, v) => gql(q, v),
    log: () => output,
    async stop() {
      await stopChild(child)
      mkdirSync(ARTIFACTS, { recursive: true })
      // One file per server (each test file starts its own), so a later file does not overwrite an earlier one's.
      writeFileSync(path.join(ARTIFACTS, `server-${port}.log`), output)
      await db.drop()
    },
  }
}

async function waitForHealth(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log()}`)
    try {
      const res = await fetch(`${url}/healthz`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not healthy after 60 s:\n${log()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}
