/**
 * The remote side of step outputs (jobs/step-outputs.ts) for executors that run shell commands over SSH:
 * a private temp file per target and attempt (`mktemp`, mode 0600), its path exported to every command
 * as $SWITCHYARD_OUTPUTS, read back after a successful run, and always removed.
 *
 * The variable is exported in the command line itself: sshd accepts only the names its AcceptEnv lists
 * (usually LANG/LC_*), so an SSH "env" request would be silently dropped.
 */
import type { SshConnection } from '../../ssh/connection.ts'
import { coerceError } from '../../util/errors.ts'
import { shellQuote } from '../../util/template.ts'
import { OUTPUTS_ENV, OUTPUTS_MAX_BYTES } from '../step-outputs.ts'
import type { TargetLog } from './target-support.ts'

/** Budget for the cleanup exec; it must fit in the session's grace period after an abort. */
const CLEANUP_TIMEOUT_MS = 3_000

/** The export that goes in front of each command (ends with `; `). */
export function outputsExport(path: string): string {
  return `export ${OUTPUTS_ENV}=${shellQuote(path)}; `
}

const MKTEMP = `umask 077 && mktemp "\${TMPDIR:-/tmp}/switchyard-outputs.XXXXXXXXXX"`

/** Creates the file (empty, 0600) under $TMPDIR or /tmp; null (with a warning) when it cannot. */
export async function createOutputsFile(connection: SshConnection, signal: AbortSignal, log: TargetLog): Promise<string | null> {
  const r = await execBytes(connection, MKTEMP, signal)
  return createdPath({ stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), exitCode: r.exitCode }, log)
}

/**
 * Whether the target has a POSIX shell and, if so, a new outputs file — in one exec when the shell is
 * not known yet (the probe and mktemp together: on a fan-out to hundreds of targets every exec is a
 * round trip and a remote shell per target).
 */
export async function probeShellAndCreateOutputsFile(connection: SshConnection, signal: AbortSignal, log: TargetLog): Promise<{ posix: boolean; outputsPath: string | null }> {
  const { posix, after } = await connection.posixShellThen(signal, MKTEMP)
  if (!posix) return { posix, outputsPath: null }
  return { posix, outputsPath: after ? createdPath(after, log) : await createOutputsFile(connection, signal, log) }
}

function createdPath(r: { stdout: string; stderr: string; exitCode: number | null }, log: TargetLog): string | null {
  const path = r.stdout.trim().split('\n').at(-1) ?? ''
  if (r.exitCode !== 0 || !path.startsWith('/')) {
    log(`step outputs are not available on this target (could not create a temp file: ${(r.stderr.trim() || `exit code ${r.exitCode}`).slice(0, 300)})`, 'WARNING')
    return null
  }
  return path
}

/** The file's first OUTPUTS_MAX_BYTES + 1 bytes (one over the cap tells the parser it was too large). */
export async function readOutputsFile(connection: SshConnection, path: string, signal: AbortSignal): Promise<Buffer> {
  const r = await execBytes(connection, `head -c ${OUTPUTS_MAX_BYTES + 1} -- ${shellQuote(path)}`, signal)
  if (r.exitCode !== 0) throw new Error(`could not read the step outputs file: ${r.stderr.toString('utf8').trim().slice(0, 300) || `exit code ${r.exitCode}`}`)
  return r.stdout
}

/**
 * Reads the file like readOutputsFile and removes it in the same exec (a successful target's last
 * round trip); the removal runs whether or not the read succeeded.
 */
export async function readAndRemoveOutputsFile(connection: SshConnection, path: string, signal: AbortSignal): Promise<Buffer> {
  const q = shellQuote(path)
  const r = await execBytes(connection, `head -c ${OUTPUTS_MAX_BYTES + 1} -- ${q}; s=$?; rm -f -- ${q}; exit $s`, signal)
  if (r.exitCode !== 0) throw new Error(`could not read the step outputs file: ${r.stderr.toString('utf8').trim().slice(0, 300) || `exit code ${r.exitCode}`}`)
  return r.stdout
}

/** Removes remote paths in a fresh exec with its own deadline: the run's signal may already be aborted. */
export async function removeRemotePaths(connection: SshConnection, paths: string[], log: TargetLog, options: { quote?: boolean; quiet?: boolean } = {}): Promise<void> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), CLEANUP_TIMEOUT_MS)
  const shown = paths.join(' ')
  try {
    const r = await execBytes(connection, `rm -rf -- ${paths.map((p) => (options.quote === false ? p : shellQuote(p))).join(' ')}`, controller.signal)
    if (r.exitCode === 0 || r.exitCode === null) {
      if (!options.quiet) for (const p of paths) log(`removed ${p}`)
    } else {
      log(`could not remove ${shown}: ${r.stderr.toString('utf8').trim().slice(0, 300) || `exit code ${r.exitCode}`}`, 'WARNING')
    }
  } catch (err) {
    log(`could not remove ${shown}: ${coerceError(err).message}`, 'WARNING')
  } finally {
    clearTimeout(timer)
  }
}

export async function execBytes(connection: SshConnection, command: string, signal: AbortSignal): Promise<{ exitCode: number | null; stdout: Buffer; stderr: Buffer }> {
  const out: Buffer[] = []
  const err: Buffer[] = []
  const r = await connection.exec(command, { signal, onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) })
  return { exitCode: r.exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }
}
