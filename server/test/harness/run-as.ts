/**
 * The run-as user as the tests see it: when they run as root (they do on CI, to create sshd users) the
 * processes of runs drop to `nobody`, as the server's default does; otherwise there is no switching.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { lookupSystemUser } from '../../src/config.ts'
import { ProcessSandbox, type RunAsUser } from '../../src/sandbox/process-sandbox.ts'

const run = promisify(execFile)

export const isRoot = process.getuid?.() === 0

/** SWITCHYARD_RUN_AS_USER's default, resolved; null when the tests are not root. */
export const runAsUser: RunAsUser | null = isRoot ? lookupSystemUser('nobody') : null

export function runAsSandbox(): ProcessSandbox {
  return new ProcessSandbox(runAsUser)
}

/** Gives a path (recursively) to the run-as user: e.g. a local Git repository runs push to. */
export async function giveToRunAsUser(path: string): Promise<void> {
  if (runAsUser) await run('chown', ['-R', `${runAsUser.uid}:${runAsUser.gid}`, path])
}
