/**
 * The git working-copy helper against real `git` and real bare repositories in a temp directory, run in the
 * sandbox the server uses (as root: the run-as user `nobody`, which then owns the repositories it pushes to).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { giveToRunAsUser, runAsSandbox, runAsUser } from '../../test/harness/run-as.ts'
import { runGit } from './git.ts'
import { GitError, withGitWorkdir } from './workdir.ts'

const run = promisify(execFile)
let dir: string
const signal = new AbortController().signal
const me = { name: 'Test', email: 'test@example.net' }
const sandbox = runAsSandbox()
// The repositories belong to the run-as user; the test reads them as itself.
const inspect = (args: string[]) => run('git', ['-c', 'safe.directory=*', ...args])

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-git-test-'))
  await giveToRunAsUser(dir)
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function bare(name: string): Promise<string> {
  const path = join(dir, name)
  await run('git', ['init', '-q', '--bare', path])
  await giveToRunAsUser(path)
  return path
}

describe('withGitWorkdir', () => {
  it('starts a missing branch, reports staged line counts, commits with the identity, pushes, and cleans up', async () => {
    const repo = await bare('a.git')
    let workdirPath = ''
    const commit = await withGitWorkdir({ url: repo, branch: 'configs' }, sandbox, signal, async (wd) => {
      workdirPath = wd.dir
      expect(wd.branchExisted).toBe(false)
      await wd.writeFile('x/one.txt', 'a\nb\n')
      await wd.stage(['x/one.txt'])
      expect(await wd.stagedChanges()).toEqual(new Map([['x/one.txt', { added: 2, deleted: 0 }]]))
      const id = await wd.commit('first\n\nbody', me)
      await wd.push()
      return id
    })
    expect(existsSync(workdirPath)).toBe(false)
    expect((await inspect(['--git-dir', repo, 'rev-parse', 'configs'])).stdout.trim()).toBe(commit)
    expect((await inspect(['--git-dir', repo, 'log', '--format=%an|%ae|%cn|%s', 'configs'])).stdout.trim()).toBe('Test|test@example.net|Test|first')

    await withGitWorkdir({ url: `file://${repo}`, branch: 'configs' }, sandbox, signal, async (wd) => {
      expect(wd.branchExisted).toBe(true)
      await wd.writeFile('x/one.txt', 'a\nc\nd\n')
      await wd.stage(['x/one.txt'])
      expect(await wd.stagedChanges()).toEqual(new Map([['x/one.txt', { added: 2, deleted: 1 }]]))
    })
  })

  it('a push racing another one is rejected with kind "rejected"', async () => {
    const repo = await bare('race.git')
    const write = (content: string) =>
      withGitWorkdir({ url: repo, branch: 'main' }, sandbox, signal, async (wd) => {
        await wd.writeFile('f', content)
        await wd.stage(['f'])
        await wd.commit(content, me)
        await wd.push()
      })
    await write('base\n')
    const err = await withGitWorkdir({ url: repo, branch: 'main' }, sandbox, signal, async (wd) => {
      await write('other\n') // someone else pushes after our checkout
      await wd.writeFile('f', 'mine\n')
      await wd.stage(['f'])
      await wd.commit('mine', me)
      return wd.push().then(() => null, (e: unknown) => e)
    })
    expect(err).toBeInstanceOf(GitError)
    expect((err as GitError).kind).toBe('rejected')
  })

  it('an ssh remote that cannot be reached fails; a key is refused for a local repository', async () => {
    const { createServer } = await import('node:net')
    const port = await new Promise<number>((resolve) => {
      const server = createServer()
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
      })
    })
    const refused = await withGitWorkdir({ url: `ssh://git@127.0.0.1:${port}/r.git`, branch: 'main', auth: { kind: 'ssh-key', privateKey: 'not used' } }, sandbox, signal, async () => null).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(GitError)
    expect((refused as GitError).message).toMatch(/Connection refused|Could not read from remote repository/)
    const local = await withGitWorkdir({ url: await bare('k.git'), branch: 'main', auth: { kind: 'ssh-key', privateKey: 'x' } }, sandbox, signal, async () => null).catch((e: unknown) => e)
    expect((local as GitError).message).toMatch(/a local repository takes no credential/)
  })

  it('a missing repository fails with kind "not_found"; an aborted signal stops git', async () => {
    const missing = await withGitWorkdir({ url: join(dir, 'nope.git'), branch: 'main' }, sandbox, signal, async () => null).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(GitError)
    expect((missing as GitError).kind).toBe('not_found')
    const aborted = AbortSignal.abort()
    const cancelled = await withGitWorkdir({ url: await bare('c.git'), branch: 'main' }, sandbox, aborted, async () => null).catch((e: unknown) => e)
    expect((cancelled as GitError).kind).toBe('cancelled')
  })

  it('git runs as the run-as user with a clean environment: nothing of the server\'s', async () => {
    process.env.SWITCHYARD_SANDBOX_CANARY = 'server-only'
    try {
      const home = await mkdtemp(join(tmpdir(), 'switchyard-git-env-'))
      await giveToRunAsUser(home)
      // A git alias starting with `!` runs a shell command as git's child: it sees git's environment.
      const out = await runGit(['-c', 'alias.showenv=!env; echo uid=$(id -u)', 'showenv'], { cwd: home, home, sandbox, signal })
      await rm(home, { recursive: true, force: true })
      expect(out).toContain(`HOME=${home}`)
      expect(out).toContain('GIT_CONFIG_NOSYSTEM=1')
      expect(out).not.toContain('SWITCHYARD_SANDBOX_CANARY')
      expect(out).not.toMatch(/^DATABASE_URL=/m)
      expect(out).toContain(`uid=${runAsUser?.uid ?? process.getuid!()}`)
    } finally {
      delete process.env.SWITCHYARD_SANDBOX_CANARY
    }
  })
})
