/**
 * The `file_transfer` job type: uploads files to every target, or downloads files from them, over SFTP on
 * the target's SSH session.
 *
 * Upload, per file: render the destination path, apply the overwrite policy (`never` skips an existing
 * file, `if_different` compares size and SHA-256 first), write the content to a hidden temp name in the
 * destination directory with the requested mode, read it back and check size and SHA-256, then rename it
 * over the destination (atomic: readers see the old or the new file, never half of one). The temp file is
 * removed on any failure, cancel or timeout. Changing the owner would need root on the target and is not
 * offered.
 *
 * Download, per file: read the source with a size cap, hash it and keep it as a run artifact.
 *
 * A file that fails fails its target (permanent for a missing path or a permission problem, retryable for
 * connection trouble); the other files of the target are still attempted unless the session is gone.
 */
import { createHash, randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { z } from 'zod'
import type { SshConnection } from '../../ssh/connection.ts'
import { SftpError, withSftp, type SftpClient } from '../../ssh/sftp.ts'
import { SshError } from '../../ssh/ssh-error.ts'
import { coerceError } from '../../util/errors.ts'
import { checkRelativeName, checkRenderedPath, unsafePathReason } from '../../util/safe-path.ts'
import { renderTemplate, shellQuote } from '../../util/template.ts'
import { abortReport, type TargetLog, forEachTarget, withTargetConnection } from './target-support.ts'
import type { ExecutionContext, JobExecutor, RunTargetHandle, TargetReport } from './types.ts'

const MAX_UPLOAD_BYTES = 4 * 1024 * 1024
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024
const MAX_MAX_BYTES = 100 * 1024 * 1024
/** Budget for removing a temp file after an abort; it must fit in the session's grace period. */
const CLEANUP_TIMEOUT_MS = 3_000

const pathTemplate = z
  .string()
  .min(1)
  .max(4096)
  .superRefine((s, issues) => {
    const reason = unsafePathReason(s)
    if (reason) issues.addIssue({ code: 'custom', message: reason })
  })
  .refine((s) => s.startsWith('/') || s.startsWith('{{'), 'must be an absolute path (start with `/`)')

const fileSchema = z
  .object({
    content: z.string().optional().describe('Upload: the file content as text (UTF-8). Uploaded as is: no placeholders are replaced in it.'),
    contentBase64: z
      .string()
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
      .optional()
      .describe('Upload: the file content, base64-encoded (for binary files). Give either `content` or `contentBase64`.'),
    destination: pathTemplate
      .optional()
      .describe('Upload: absolute destination path on the target; placeholders such as `{{ target.name }}` or `{{ params.site }}` are filled in.'),
    mode: z
      .string()
      .regex(/^0?[0-7]{3,4}$/, 'must be an octal mode such as `0644`')
      .optional()
      .describe('Upload: permission bits as an octal string (e.g. `0644`, `0600`). Default: the replaced file\'s mode, or `0644` for a new file.'),
    owner: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]*(:[a-z_][a-z0-9_.-]*)?$/i, 'must be `user` or `user:group`')
      .optional()
      .describe('Upload: owner as `user` or `user:group`, set with `chown` before the file is moved into place (the SSH user needs the right to do so, usually root; otherwise the file fails).'),
    overwrite: z
      .enum(['always', 'never', 'if_different'])
      .default('always')
      .describe('Upload: `always` replaces an existing file; `never` leaves an existing file alone (reported as skipped); `if_different` replaces it only when its SHA-256 differs.'),
    source: pathTemplate.optional().describe('Download: absolute path of the file on the target (placeholders allowed).'),
    name: z
      .string()
      .min(1)
      .max(512)
      .superRefine((s, issues) => {
        const reason = unsafePathReason(s) ?? (s.startsWith('/') ? 'must be relative' : null)
        if (reason) issues.addIssue({ code: 'custom', message: reason })
      })
      .optional()
      .describe('Download: the artifact name (placeholders allowed). Default: `{{ target.name }}/<file name of the source>`.'),
  })
  .strict()
  .describe('One file to upload (content + destination) or download (source).')

const configSchema = z
  .object({
    direction: z.enum(['upload', 'download']).describe('`upload` writes files to every target; `download` fetches files from every target as run artifacts.'),
    files: z.array(fileSchema).min(1).max(50).describe('The files to transfer, handled in order on each target.'),
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(MAX_MAX_BYTES)
      .default(DEFAULT_MAX_BYTES)
      .describe('Download: the largest file accepted, in bytes (default 10 MiB); a larger file fails its target.'),
    connectTimeoutSeconds: z.number().int().min(1).max(300).default(15).describe('Time allowed per target to connect, complete the SSH handshake and log in.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    config.files.forEach((file, i) => {
      const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: ['files', i, field], message })
      if (config.direction === 'upload') {
        if (file.destination === undefined) issue('destination', 'required for an upload')
        if ((file.content === undefined) === (file.contentBase64 === undefined)) issue('content', 'give exactly one of `content` and `contentBase64`')
        const size = file.content !== undefined ? Buffer.byteLength(file.content) : file.contentBase64 !== undefined ? Buffer.from(file.contentBase64, 'base64').length : 0
        if (size > MAX_UPLOAD_BYTES) issue(file.content !== undefined ? 'content' : 'contentBase64', `must be at most ${MAX_UPLOAD_BYTES} bytes`)
        for (const field of ['source', 'name'] as const) if (file[field] !== undefined) issue(field, 'only for a download')
      } else {
        if (file.source === undefined) issue('source', 'required for a download')
        for (const field of ['content', 'contentBase64', 'destination', 'mode', 'owner'] as const) if (file[field] !== undefined) issue(field, 'only for an upload')
      }
    })
  })

export type FileTransferConfig = z.output<typeof configSchema>
type Context = ExecutionContext<FileTransferConfig>

export interface UploadedFile {
  destination: string
  status: 'written' | 'skipped' | 'failed'
  /** Why it was skipped or failed. */
  reason?: string
  size?: number
  sha256?: string
  mode?: string
}
export interface DownloadedFile {
  source: string
  status: 'stored' | 'failed'
  reason?: string
  artifactId?: string
  name?: string
  size?: number
  sha256?: string
}
export type FileTransferResult = { direction: 'upload'; files: UploadedFile[] } | { direction: 'download'; files: DownloadedFile[] }

export const fileTransferExecutor: JobExecutor<typeof configSchema> = {
  type: 'file_transfer',
  label: 'File transfer',
  description: 'Uploads files to each target (atomic replace, mode, overwrite policy, SHA-256 verified) or downloads files from them as run artifacts, over SFTP.',
  configSchema,
  usesTargets: true,
  async execute(ctx) {
    await forEachTarget(ctx, (target, finish) => runTarget(ctx, target, finish))
    return {}
  },
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

function templateVars(ctx: Context, target: RunTargetHandle): Record<string, unknown> {
  return {
    ...ctx.parameters,
    params: ctx.parameters,
    target: { name: target.name, host: target.host, port: target.port, tags: target.tags, attributes: target.attributes },
  }
}

/**
 * A parameter or attribute must not move a path out of the directory the template names (`../x` in
 * `/srv/{{ site }}/app.conf`): rejected before connecting, failing the target permanently.
 */
function renderPath(template: string, vars: Record<string, unknown>, field: string): string {
  return checkRenderedPath(template, renderTemplate(template, vars, { quote: 'none' }), field)
}

interface PlannedUpload {
  destination: string
  content: Buffer
  mode: number | undefined
  owner: string | undefined
  overwrite: 'always' | 'never' | 'if_different'
}
interface PlannedDownload {
  source: string
  name: string
}

async function runTarget(ctx: Context, target: RunTargetHandle, finish: (report: TargetReport) => void): Promise<void> {
  ctx.targetStarted(target.id)
  const log: TargetLog = (text, level) => ctx.log.system(text, { level, runTargetId: target.id })
  const files: Array<UploadedFile | DownloadedFile> = []
  const result = () => ({ direction: ctx.config.direction, files }) as FileTransferResult
  try {
    if (!target.credential) throw SshError.noCredential(target.name)
    // Paths are rendered before connecting: a template mistake must not cost a login.
    const vars = templateVars(ctx, target)
    const uploads: PlannedUpload[] = []
    const downloads: PlannedDownload[] = []
    for (const [i, f] of ctx.config.files.entries()) {
      if (ctx.config.direction === 'upload') {
        uploads.push({
          destination: renderPath(f.destination!, vars, `files.${i}.destination`),
          content: f.content !== undefined ? Buffer.from(f.content, 'utf8') : Buffer.from(f.contentBase64 ?? '', 'base64'),
          mode: f.mode === undefined ? undefined : Number.parseInt(f.mode, 8),
          owner: f.owner,
          overwrite: f.overwrite,
        })
      } else {
        const source = renderPath(f.source!, vars, `files.${i}.source`)
        const name = checkRelativeName(f.name === undefined ? `${target.name}/${posix.basename(source)}` : renderTemplate(f.name, vars, { quote: 'none' }), `files.${i}.name`)
        downloads.push({ source, name })
      }
    }
    const failures = await withTargetConnection(ctx, target, ctx.config.connectTimeoutSeconds, log, async (connection) => {
      const errors: SshError[] = []
      await withSftp(connection, ctx.signal, async (sftp) => {
        for (const u of uploads) {
          const entry: UploadedFile = { destination: u.destination, status: 'failed' }
          files.push(entry)
          await perFile(ctx, errors, entry, log, () => upload(ctx, connection, sftp, u, entry, log))
        }
        for (const d of downloads) {
          const entry: DownloadedFile = { source: d.source, status: 'failed' }
          files.push(entry)
          await perFile(ctx, errors, entry, log, () => download(ctx, sftp, target, d, entry, log))
        }
      })
      return errors
    })
    if (failures.length === 0) {
      finish({ status: 'SUCCEEDED', error: null, result: result() })
    } else {
      const error = failures.length === 1 ? failures[0]!.message : `${failures.length} files failed; first: ${failures[0]!.message}`
      finish({ status: 'FAILED', error, retryable: failures.every((f) => f.retryable), result: result() })
    }
  } catch (thrown) {
    if (ctx.signal.aborted) {
      const report = abortReport(ctx.signal)
      log(`${report.error}: transfer stopped`, 'WARNING')
      finish({ ...report, result: result() })
      return
    }
    const err = coerceError(thrown)
    const retryable = err instanceof SshError ? err.retryable : false
    log(err.message, 'ERROR')
    finish({ status: 'FAILED', error: err.message, retryable, result: result() })
  }
}

/**
 * One file: a path-level failure (SftpError: missing, permission, too large, hash mismatch) is recorded and
 * the next file is tried; anything else (abort, session lost) ends the target.
 */
async function perFile(ctx: Context, errors: SshError[], entry: { status: string; reason?: string }, log: TargetLog, work: () => Promise<void>): Promise<void> {
  try {
    await work()
  } catch (thrown) {
    if (ctx.signal.aborted || !(thrown instanceof SftpError)) throw thrown
    entry.status = 'failed'
    entry.reason = thrown.message
    errors.push(thrown)
    log(thrown.message, 'ERROR')
  }
}

async function upload(ctx: Context, connection: SshConnection, sftp: SftpClient, u: PlannedUpload, entry: UploadedFile, log: TargetLog): Promise<void> {
  const hash = sha256(u.content)
  const existing = await sftp.stat(u.destination)
  if (existing?.isDirectory) throw new SftpError('failure', `${u.destination} is a directory`)
  if (existing && u.overwrite === 'never') {
    Object.assign(entry, { status: 'skipped', reason: 'exists (overwrite: never)' })
    log(`skipped ${u.destination}: it exists (overwrite: never)`)
    return
  }
  const mode = u.mode ?? (existing ? existing.mode : 0o644)
  if (existing && u.overwrite === 'if_different' && existing.size === u.content.length) {
    const current = sha256(await sftp.readFile(u.destination, { maxBytes: u.content.length }))
    if (current === hash) {
      if (existing.mode !== mode) await sftp.chmod(u.destination, mode)
      Object.assign(entry, { status: 'skipped', reason: 'unchanged (same SHA-256)', size: existing.size, sha256: hash, mode: octal(mode) })
      log(`skipped ${u.destination}: unchanged (sha256 ${hash})${existing.mode !== mode ? `, mode set to ${octal(mode)}` : ''}`)
      return
    }
  }
  const dir = posix.dirname(u.destination)
  const temp = posix.join(dir, `.${posix.basename(u.destination)}.switchyard-${randomBytes(6).toString('hex')}.tmp`)
  let placed = false
  try {
    await sftp.writeFile(temp, u.content, mode)
    const written = await sftp.stat(temp)
    const back = await sftp.readFile(temp, { maxBytes: u.content.length + 1 })
    const backHash = sha256(back)
    if (written?.size !== u.content.length || back.length !== u.content.length || backHash !== hash) {
      throw new SftpError(
        'failure',
        `verification of ${u.destination} failed: wrote ${u.content.length} bytes (sha256 ${hash}), read back ${back.length} bytes (sha256 ${backHash})`,
      )
    }
    if (u.owner) await chown(connection, temp, u.owner, u.destination, ctx.signal)
    // `never`: a plain rename refuses to replace a file created since the check above.
    await sftp.rename(temp, u.destination, { replace: u.overwrite !== 'never' })
    placed = true
  } finally {
    if (!placed) await removeTemp(ctx, connection, sftp, temp, log)
  }
  Object.assign(entry, { status: 'written', size: u.content.length, sha256: hash, mode: octal(mode) })
  log(`uploaded ${u.destination} (${u.content.length} bytes, mode ${octal(mode)}, sha256 ${hash}, verified)`)
}

/**
 * Removes a temp upload. After an abort the run's SFTP channel is already closed, so a fresh one is opened
 * with its own deadline (the session stays usable for the abort grace period).
 */
async function removeTemp(ctx: Context, connection: SshConnection, sftp: SftpClient, temp: string, log: TargetLog): Promise<void> {
  try {
    if (!ctx.signal.aborted) {
      await sftp.unlink(temp)
      return
    }
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), CLEANUP_TIMEOUT_MS)
    try {
      await withSftp(connection, controller.signal, (fresh) => fresh.unlink(temp))
    } finally {
      clearTimeout(timer)
    }
    log(`removed the partial upload ${temp}`)
  } catch (err) {
    if (err instanceof SftpError && err.status === 'no_such_file') return
    log(`could not remove the partial upload ${temp}: ${coerceError(err).message}`, 'WARNING')
  }
}

async function download(ctx: Context, sftp: SftpClient, target: RunTargetHandle, d: PlannedDownload, entry: DownloadedFile, log: TargetLog): Promise<void> {
  const content = await sftp.readFile(d.source, { maxBytes: ctx.config.maxBytes })
  const hash = sha256(content)
  const artifactId = await ctx.storeArtifact({ runTargetId: target.id, name: d.name, content, sha256: hash })
  Object.assign(entry, { status: 'stored', artifactId, name: d.name, size: content.length, sha256: hash })
  log(`downloaded ${d.source} (${content.length} bytes, sha256 ${hash}) as artifact ${d.name}`)
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`
}

/** Sets the owner of the (temp) file with `chown`; a refusal fails the file permanently. */
async function chown(connection: SshConnection, path: string, owner: string, destination: string, signal: AbortSignal): Promise<void> {
  const errors: Buffer[] = []
  const r = await connection.exec(`chown ${shellQuote(owner)} ${shellQuote(path)}`, { signal, onStdout: () => {}, onStderr: (c) => errors.push(c) })
  if (r.exitCode !== 0) {
    const why = Buffer.concat(errors).toString('utf8').trim().split('\n').at(-1) ?? `exit code ${r.exitCode}`
    throw new SftpError('permission_denied', `cannot set owner ${owner} on ${destination}: ${why}`)
  }
}
