/**
 * A real SMTP server on loopback for notification tests: Debian's python3-aiosmtpd (`apt-get install -y
 * python3-aiosmtpd`; `.ci/run` installs it) running smtp-server.py. Modes: plain, STARTTLS (required)
 * or implicit TLS with a fresh self-signed certificate made by openssl; optional AUTH. Received mails
 * are read back from the files the server writes, parsed enough to check headers and both bodies.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
/** Debian's interpreter, where python3-aiosmtpd is installed (a pyenv `python3` earlier on PATH lacks it). */
const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./smtp-server.py', import.meta.url))

export interface SmtpServerOptions {
  mode?: 'plain' | 'starttls' | 'tls'
  /** AUTH required with this login. */
  auth?: { user: string; password: string }
  /** Answer DATA with this reply instead of accepting (e.g. `550 5.1.1 mailbox unavailable`). */
  reject?: string
}

export interface ReceivedMail {
  mailFrom: string
  rcptTos: string[]
  /** The raw message as received. */
  data: string
  tls: boolean
  login: string | null
  headers: Record<string, string>
  /** Decoded text/plain and text/html parts. */
  text: string | null
  html: string | null
}

export interface TestSmtpServer {
  port: number
  /** PEM of the self-signed certificate (TLS modes), to trust as the channel's CA. */
  certificate: string | null
  mails(): Promise<ReceivedMail[]>
  stop(): Promise<void>
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found`)
  const mode = options.mode ?? 'plain'
  const dir = await mkdtemp(join(tmpdir(), 'sy-smtp-'))
  const args = [SCRIPT, '--dir', join(dir, 'mail'), '--mode', mode]
  let certificate: string | null = null
  if (mode !== 'plain') {
    const cert = join(dir, 'cert.pem')
    const key = join(dir, 'key.pem')
    // A CA-less self-signed server certificate for 127.0.0.1 (what the channel connects to).
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert])
    certificate = await readFile(cert, 'utf8')
    args.push('--cert', cert, '--key', key)
  }
  if (options.auth) args.push('--user', options.auth.user, '--password', options.auth.password)
  if (options.reject) args.push('--reject', options.reject)
  const child: ChildProcess = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`SMTP server did not start: ${stderr}`)), 15_000)
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /LISTENING (\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`SMTP server exited (${code}): ${stderr}`))
    })
  })
  return {
    port,
    certificate,
    async mails() {
      const files = (await readdir(join(dir, 'mail')).catch(() => [] as string[])).filter((f) => /^\d+\.json$/.test(f)).sort((a, b) => parseInt(a) - parseInt(b))
      return Promise.all(files.map(async (f) => parseMail(JSON.parse(await readFile(join(dir, 'mail', f), 'utf8')))))
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Enough MIME for the tests: top-level headers (unfolded) and the text/plain and text/html parts. */
function parseMail(r: { mailFrom: string; rcptTos: string[]; data: string; tls: boolean; login: string | null }): ReceivedMail {
  const data = r.data.replace(/\r\n/g, '\n')
  const [head = '', ...rest] = data.split('\n\n')
  const headers = parseHeaders(head)
  const body = rest.join('\n\n')
  const parts: Record<string, string> = {}
  const boundary = /boundary="?([^";\n]+)"?/.exec(headers['content-type'] ?? '')?.[1]
  const chunks = boundary ? body.split(`--${boundary}`).slice(1, -1) : [`${head}\n\n${body}`]
  for (const chunk of chunks) {
    const [h = '', ...b] = chunk.replace(/^\n/, '').split('\n\n')
    const ph = parseHeaders(h)
    const type = (ph['content-type'] ?? 'text/plain').split(';')[0]!.trim()
    parts[type] = decode(b.join('\n\n'), ph['content-transfer-encoding'])
  }
  return { ...r, headers, text: parts['text/plain'] ?? null, html: parts['text/html'] ?? null }
}

function parseHeaders(head: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return out
}

function decode(body: string, encoding: string | undefined): string {
  const e = (encoding ?? '').toLowerCase()
  if (e === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (e === 'quoted-printable') {
    const bytes = body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
    return Buffer.from(bytes, 'latin1').toString('utf8').replace(/\n$/, '')
  }
  return body.replace(/\n$/, '')
}

/** Decodes an RFC 2047 encoded-word header (=?UTF-8?Q?…?= / =?UTF-8?B?…?=), as mail clients show it. */
export function decodeHeader(value: string): string {
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_m, enc: string, text: string) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  )
}
