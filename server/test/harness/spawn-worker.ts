/** Starts worker-main.ts as a child process and waits until it reports ready. */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const serverDir = path.resolve(here, '../..')

export interface WorkerProcess {
  child: ChildProcess
  workerId: string
  /** The API's base URL when the process has the api role. */
  url: string | null
  /** The ops-only listener's base URL (SWITCHYARD_OPS_PORT without the api role). */
  opsUrl: string | null
  /** Everything the process wrote to stderr so far (when spawned with `captureStderr`). */
  stderr(): string
  /** SIGKILL: no chance to clean up, like a crashed machine. Resolves when the process is gone. */
  kill(): Promise<void>
  /** SIGTERM: graceful stop. Rejects if the process ends other than by its graceful stop (exit code 0). */
  stop(): Promise<void>
}

export function spawnWorker(databaseUrl: string, roles = 'worker', options: { captureStderr?: boolean; env?: Record<string, string> } = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'worker-main.ts')], {
    cwd: serverDir,
    env: { ...process.env, DATABASE_URL: databaseUrl, SWITCHYARD_ROLES: roles, ...options.env },
    // An IPC channel only so that the child sees this process die (worker-main exits on 'disconnect'): a
    // test that fails before stopping its workers, or a fork vitest kills, must not leave them running.
    // stderr is piped, never inherited: an orphan holding vitest's own stderr kept vitest from exiting.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  let err = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    if (options.captureStderr) err += chunk.toString()
    else process.stderr.write(chunk)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const end = async (signal: NodeJS.Signals) => {
    const running = child.exitCode === null && child.signalCode === null
    if (running) child.kill(signal)
    await exited
    // A graceful stop ends in exit code 0 (worker-main.ts); dying of the SIGTERM itself means the process
    // had no handler yet and skipped its stop (no worker row marked stopped: the reaper's WORKER_DOWN).
    if (running && signal === 'SIGTERM' && child.exitCode !== 0) {
      throw new Error(`worker process did not stop gracefully: exit code ${child.exitCode}, signal ${child.signalCode}`)
    }
  }
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`worker process did not start: ${out}`))
    }, 60_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /ready (\S+) (\S+)(?: (\S+))?\n/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ child, workerId: m[1]!, url: m[2] === '-' ? null : m[2]!, opsUrl: !m[3] || m[3] === '-' ? null : m[3], stderr: () => err, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`worker process exited early (code ${code}): ${out}`))
    })
  })
}
