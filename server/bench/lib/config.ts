/**
 * The configuration every benchmark process runs with: the product's defaults (pool sizes, worker
 * concurrency, heartbeats, as `loadConfig` resolves them) plus only what a headless run must supply.
 * Deliberately not the test harness's config, which shrinks pools and heartbeats for tests.
 */
import { loadConfig, type Config } from '../../src/config.ts'

export const BENCH_ADMIN_PASSWORD = 'bench-admin-password'
const BENCH_SECRET_KEY = Buffer.alloc(32, 11).toString('base64')

export function benchEnv(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    SWITCHYARD_SECRET_KEY: BENCH_SECRET_KEY,
    SWITCHYARD_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
    SWITCHYARD_DATA_DIR: '/tmp/switchyard-bench-data',
    SWITCHYARD_LOG_LEVEL: 'warn',
  }
}

/** `env`: settings a scenario varies on purpose (e.g. SWITCHYARD_WORKER_CONCURRENCY), over the defaults. */
export function benchConfig(databaseUrl: string, roles: string, env: Record<string, string> = {}): Config {
  return loadConfig({ ...benchEnv(databaseUrl), ...env }, ['--role', roles])
}
