/** Starts bench/worker-main.ts as a child process, waits for `ready`, and stops it on release. */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface WorkerProcess {
  pid: number
  workerId: string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>
}

export function spawnBenchWorker(databaseUrl: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, 'worker-main.ts')], {
    cwd: path.resolve(benchDir, '..'),
    env: { ...process.env, DATABASE_URL: databaseUrl, SWITCHYARD_ROLES: 'worker' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const alive = () => child.exitCode === null && child.signalCode === null
  const stop = async (graceMs = 5000) => {
    if (alive()) child.kill('SIGTERM')
    const timer = setTimeout(() => alive() && child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`worker process did not start within 60 s: ${out}`))
    }, 60_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /ready (\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ pid: child.pid!, workerId: m[1]!, stop })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`worker process exited early (code ${code}): ${out}`))
    })
  })
}
