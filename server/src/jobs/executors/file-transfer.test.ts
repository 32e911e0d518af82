/**
 * The file_transfer executor against a real OpenSSH server on loopback (the remote files are this
 * machine's files, so the test checks them directly). Only the dispatcher side (the ExecutionContext) is
 * faked (test/harness/fake-execution-context.ts); it records stored artifacts.
 */
import { createHash } from 'node:crypto'
import { execFile } from 'node:child_process'
import { watch } from 'node:fs'
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeExecutionContext, sshdTarget } from '../../../test/harness/fake-execution-context.ts'
import { startSshd, type TestSshd } from '../../../test/harness/sshd.ts'
import { fileTransferExecutor, type DownloadedFile, type UploadedFile } from './file-transfer.ts'
import { AbortReason, type RunTargetHandle } from './types.ts'

const run = promisify(execFile)
let sshd: TestSshd
/** Owned by the test user: uploads go here. */
let upDir: string
/** World-readable, owned by root: downloads come from here. */
let downDir: string

beforeAll(async () => {
  sshd = await startSshd({ count: 2 })
  const uid = Number((await run('id', ['-u', sshd.user])).stdout.trim())
  const gid = Number((await run('id', ['-g', sshd.user])).stdout.trim())
  upDir = await mkdtemp('/tmp/switchyard-ft-up-')
  await chown(upDir, uid, gid)
  downDir = await mkdtemp('/tmp/switchyard-ft-down-')
  await chmod(downDir, 0o755)
}, 60_000)
afterAll(async () => {
  await sshd?.stop()
  if (upDir) await rm(upDir, { recursive: true, force: true })
  if (downDir) await rm(downDir, { recursive: true, force: true })
})

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')

function target(name: string, overrides: Partial<RunTargetHandle> = {}): RunTargetHandle {
  return sshdTarget(sshd, name, { attributes: { location: 'rack7' }, ...overrides })
}

function fakeContext(config: Record<string, unknown>, targets: RunTargetHandle[], options: { parameters?: Record<string, unknown>; signal?: AbortSignal } = {}) {
  const run = fakeExecutionContext(fileTransferExecutor.configSchema.parse(config), { ...options, targets, maxParallelTargets: 4 })
  return Object.assign(run, {
    files: (id: string) => (run.reports.get(id)?.result as { files: Array<UploadedFile & DownloadedFile> }).files,
  })
}

async function execute(config: Record<string, unknown>, targets: RunTargetHandle[], options?: Parameters<typeof fakeContext>[2]) {
  const r = fakeContext(config, targets, options)
  await expect(fileTransferExecutor.execute(r.ctx)).resolves.toEqual({})
  expect([...r.reports.keys()].sort()).toEqual(targets.map((t) => t.id).sort())
  return r
}

const tempLeftovers = async (dir: string) => (await readdir(dir)).filter((f) => f.includes('.switchyard-'))

describe('file_transfer executor', () => {
  it('validates its config and names the field', () => {
    const issues = (config: unknown) => {
      const r = fileTransferExecutor.configSchema.safeParse(config)
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'))
    }
    expect(issues({ direction: 'upload', files: [{ content: 'x', destination: '/tmp/x' }] })).toEqual([])
    expect(issues({ direction: 'download', files: [{ source: '/etc/hostname' }] })).toEqual([])
    expect(issues({ direction: 'sideways', files: [{ source: '/x' }] })).toEqual(['direction'])
    expect(issues({ direction: 'upload', files: [] })).toEqual(['files'])
    expect(issues({ direction: 'upload', files: [{ destination: '/tmp/x' }] })).toEqual(['files.0.content'])
    expect(issues({ direction: 'upload', files: [{ content: 'x', contentBase64: 'eA==', destination: '/tmp/x' }] })).toEqual(['files.0.content'])
    expect(issues({ direction: 'upload', files: [{ content: 'x' }] })).toEqual(['files.0.destination'])
    expect(issues({ direction: 'upload', files: [{ content: 'x', destination: 'relative/x' }] })).toEqual(['files.0.destination'])
    expect(issues({ direction: 'upload', files: [{ content: 'x', destination: '/x', mode: '888' }] })).toEqual(['files.0.mode'])
    expect(issues({ direction: 'upload', files: [{ content: 'x', destination: '/x', overwrite: 'maybe' }] })).toEqual(['files.0.overwrite'])
    expect(issues({ direction: 'download', files: [{ source: '/x', mode: '0644' }] })).toEqual(['files.0.mode'])
    expect(issues({ direction: 'download', files: [{ name: 'x' }] })).toEqual(['files.0.source'])
    expect(issues({ direction: 'download', files: [{ source: '/x' }], maxBytes: 0 })).toEqual(['maxBytes'])
    const schema = z.toJSONSchema(fileTransferExecutor.configSchema, { io: 'input' }) as { properties: Record<string, { description?: string }> }
    expect(schema.properties.direction?.description).toContain('download')
  })

  it('uploads atomically with the mode, rendered paths and binary content, verified by SHA-256', async () => {
    const t = target('up-1')
    const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13])
    const config = {
      direction: 'upload',
      files: [
        { content: 'hello {{ not replaced }}\n', destination: `${upDir}/{{ target.name }}-{{ params.site }}.conf`, mode: '0640' },
        { contentBase64: binary.toString('base64'), destination: `${upDir}/blob.bin`, mode: '600' },
        { content: 'default mode\n', destination: `${upDir}/plain.txt` },
      ],
    }
    const r = await execute(config, [t], { parameters: { site: 'ams' } })
    expect(r.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED', error: null })
    const conf = join(upDir, 'up-1-ams.conf')
    expect(await readFile(conf, 'utf8')).toBe('hello {{ not replaced }}\n')
    expect((await stat(conf)).mode & 0o7777).toBe(0o640)
    expect(await readFile(join(upDir, 'blob.bin'))).toEqual(binary)
    expect((await stat(join(upDir, 'blob.bin'))).mode & 0o7777).toBe(0o600)
    expect((await stat(join(upDir, 'plain.txt'))).mode & 0o7777).toBe(0o644)
    expect((await stat(conf)).uid).toBe(Number((await run('id', ['-u', sshd.user])).stdout.trim()))
    expect(r.files(t.id)).toEqual([
      { destination: conf, status: 'written', size: 25, sha256: sha('hello {{ not replaced }}\n'), mode: '0640' },
      { destination: join(upDir, 'blob.bin'), status: 'written', size: binary.length, sha256: sha(binary), mode: '0600' },
      { destination: join(upDir, 'plain.txt'), status: 'written', size: 13, sha256: sha('default mode\n'), mode: '0644' },
    ])
    expect(r.systemLines(t.id)).toContain(`uploaded ${conf} (25 bytes, mode 0640, sha256 ${sha('hello {{ not replaced }}\n')}, verified)`)
    expect(await tempLeftovers(upDir)).toEqual([])
  })

  it('sets the owner with chown, and fails the file permanently when the SSH user may not', async () => {
    const t = target('owner')
    const config = {
      direction: 'upload',
      files: [
        { content: 'mine\n', destination: `${upDir}/owned-by-me.txt`, owner: sshd.user },
        { content: 'theirs\n', destination: `${upDir}/owned-by-root.txt`, owner: 'root:root' },
      ],
    }
    const r = await execute(config, [t])
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.reports.get(t.id)!.error).toMatch(/cannot set owner root:root on .*owned-by-root\.txt/)
    expect((await stat(join(upDir, 'owned-by-me.txt'))).uid).toBe(Number((await run('id', ['-u', sshd.user])).stdout.trim()))
    await expect(stat(join(upDir, 'owned-by-root.txt'))).rejects.toThrow()
    expect(await tempLeftovers(upDir)).toEqual([])
  })

  it('applies the overwrite policies never, if_different and always', async () => {
    const t = target('policy')
    const path = (n: string) => join(upDir, `policy-${n}.txt`)
    await execute({ direction: 'upload', files: ['never', 'same', 'changed', 'always'].map((n) => ({ content: 'old\n', destination: path(n), mode: '0644' })) }, [t])
    const before = (await stat(path('same'))).ino

    const r = await execute(
      {
        direction: 'upload',
        files: [
          { content: 'new\n', destination: path('never'), overwrite: 'never' },
          { content: 'new\n', destination: path('fresh'), overwrite: 'never' },
          { content: 'old\n', destination: path('same'), overwrite: 'if_different', mode: '0600' },
          { content: 'new\n', destination: path('changed'), overwrite: 'if_different' },
          { content: 'old\n', destination: path('always'), overwrite: 'always' },
        ],
      },
      [t],
    )
    expect(r.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED' })
    expect(r.files(t.id).map((f) => [f.destination, f.status, f.reason])).toEqual([
      [path('never'), 'skipped', 'exists (overwrite: never)'],
      [path('fresh'), 'written', undefined],
      [path('same'), 'skipped', 'unchanged (same SHA-256)'],
      [path('changed'), 'written', undefined],
      [path('always'), 'written', undefined],
    ])
    expect(await readFile(path('never'), 'utf8')).toBe('old\n')
    expect(await readFile(path('fresh'), 'utf8')).toBe('new\n')
    expect(await readFile(path('changed'), 'utf8')).toBe('new\n')
    // Unchanged content is not rewritten (same inode), but a requested mode is still applied.
    expect((await stat(path('same'))).ino).toBe(before)
    expect((await stat(path('same'))).mode & 0o7777).toBe(0o600)
    // `always` rewrote it (new inode via the temp file) and kept the replaced file's mode.
    expect((await stat(path('always'))).mode & 0o7777).toBe(0o644)
    expect(r.systemLines(t.id)).toContain(`skipped ${path('never')}: it exists (overwrite: never)`)
    expect(await tempLeftovers(upDir)).toEqual([])
  })

  it('fails the target permanently on a permission problem, still doing the other files', async () => {
    const t = target('denied')
    const r = await execute(
      {
        direction: 'upload',
        files: [
          { content: 'x', destination: `${downDir}/not-writable.txt` },
          { content: 'y', destination: `${upDir}/after-denied.txt` },
        ],
      },
      [t],
    )
    const report = r.reports.get(t.id)!
    expect(report).toMatchObject({ status: 'FAILED', retryable: false })
    expect(report.error).toMatch(/permission denied/)
    expect(report.error).toContain(`${downDir}/.not-writable.txt.switchyard-`)
    expect(r.files(t.id).map((f) => f.status)).toEqual(['failed', 'written'])
    expect(await readFile(join(upDir, 'after-denied.txt'), 'utf8')).toBe('y')
    expect(await readdir(downDir)).not.toContain('not-writable.txt')
  })

  it('downloads files as artifacts with size and SHA-256, from several targets', async () => {
    const content = 'hostname edge-1\ninterface ge-0/0/0\n'
    await writeFile(join(downDir, 'running.conf'), content, { mode: 0o644 })
    const binary = Buffer.alloc(300_000, 7)
    await writeFile(join(downDir, 'big.bin'), binary, { mode: 0o644 })
    const a = target('edge-a')
    const b = target('edge-b', { host: sshd.hosts[1]! })
    const r = await execute(
      {
        direction: 'download',
        files: [{ source: `${downDir}/running.conf` }, { source: `${downDir}/big.bin`, name: 'blobs/{{ target.attributes.location }}-{{ target.name }}.bin' }],
      },
      [a, b],
    )
    for (const t of [a, b]) {
      expect(r.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED', error: null })
      const files = r.files(t.id)
      expect(files.map((f) => [f.name, f.size, f.sha256, f.status])).toEqual([
        [`${t.name}/running.conf`, content.length, sha(content), 'stored'],
        [`blobs/rack7-${t.name}.bin`, binary.length, sha(binary), 'stored'],
      ])
      for (const f of files) {
        const stored = r.artifacts.find((x) => x.id === f.artifactId)!
        expect(stored).toMatchObject({ runTargetId: t.id, name: f.name, sha256: f.sha256 })
        expect(sha(stored.content)).toBe(f.sha256)
      }
      expect(r.systemLines(t.id)).toContain(`downloaded ${downDir}/running.conf (${content.length} bytes, sha256 ${sha(content)}) as artifact ${t.name}/running.conf`)
    }
    expect(r.artifacts).toHaveLength(4)
  })

  it('refuses a file over maxBytes and fails a missing source permanently with a clear error', async () => {
    await writeFile(join(downDir, 'large.txt'), 'x'.repeat(2048), { mode: 0o644 })
    await writeFile(join(downDir, 'ok.txt'), 'fine', { mode: 0o644 })
    const t = target('caps')
    const r = await execute({ direction: 'download', maxBytes: 1024, files: [{ source: `${downDir}/large.txt` }, { source: `${downDir}/ok.txt` }] }, [t])
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', retryable: false, error: `${downDir}/large.txt is larger than the limit of 1024 bytes (2048 bytes)` })
    expect(r.files(t.id).map((f) => f.status)).toEqual(['failed', 'stored'])
    expect(r.artifacts.map((x) => x.name)).toEqual(['caps/ok.txt'])

    const m = target('missing')
    const r2 = await execute({ direction: 'download', files: [{ source: `${downDir}/no-such-file` }] }, [m])
    expect(r2.reports.get(m.id)).toMatchObject({
      status: 'FAILED',
      retryable: false,
      error: `SFTP read of ${downDir}/no-such-file failed on ${sshd.hosts[0]}:${sshd.port}: no such file or directory`,
    })
    expect(r2.artifacts).toEqual([])
  })

  it('fails permanently on an unknown placeholder before connecting, and retryably on a refused connection', async () => {
    const t = target('placeholder')
    const r = await execute({ direction: 'download', files: [{ source: '/tmp/{{ params.nope }}' }] }, [t])
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.reports.get(t.id)!.error).toContain('unknown template variable "params.nope"')
    expect(r.systemLines(t.id).some((l) => l.startsWith('connecting'))).toBe(false)

    const down = target('refused', { port: 1 })
    const r2 = await execute({ direction: 'download', files: [{ source: '/etc/hostname' }] }, [down])
    expect(r2.reports.get(down.id)).toMatchObject({ status: 'FAILED', retryable: true })
  })

  it('on cancel during an upload leaves no temp file behind', async () => {
    const t = target('abort')
    const controller = new AbortController()
    const dest = join(upDir, 'aborted.bin')
    // Abort as soon as the temp file appears (the 4 MiB upload is then normally still being written).
    const watcher = watch(upDir, (_event, file) => {
      if (file?.includes('.aborted.bin.switchyard-')) controller.abort(new AbortReason('cancelled'))
    })
    try {
      const big = Buffer.alloc(4 * 1024 * 1024, 1).toString('base64')
      const r = await execute({ direction: 'upload', files: [{ contentBase64: big, destination: dest }] }, [t], { signal: controller.signal })
      const report = r.reports.get(t.id)!
      // Either the abort won (the normal case) or the upload had already finished: never a partial file.
      expect(['CANCELLED', 'SUCCEEDED']).toContain(report.status)
      if (report.status === 'CANCELLED') {
        expect(report.error).toBe('run cancelled')
        await expect(stat(dest)).rejects.toThrow(/ENOENT/)
      } else {
        expect((await stat(dest)).size).toBe(4 * 1024 * 1024)
      }
    } finally {
      watcher.close()
    }
    expect(await tempLeftovers(upDir)).toEqual([])
  }, 60_000)
})
