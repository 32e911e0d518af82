/**
 * What kind of Git remote a configured repository string is, and whether it is one Switchyard accepts:
 * a local repository (absolute path or file:/// URL), an SSH remote (`ssh://user@host:port/path` or the
 * scp-like `user@host:path`) or an HTTPS remote (`https://host[:port]/path`, no user or password in the
 * URL: they come from a credential). Anything else (plain http, git://, ext::, relative paths,
 * option-like strings) is `unsupported`. The checks are strict on purpose: the string ends up as a git
 * argument and in a GIT_SSH_COMMAND connection, so no whitespace, no control characters, no host or path
 * starting with `-`.
 */
export type RemoteKind = 'local' | 'ssh' | 'https' | 'unsupported'

const USER = '[A-Za-z0-9._-]+'
const HOST = '(?:[A-Za-z0-9][A-Za-z0-9.-]*|\\[[0-9A-Fa-f:.]+\\])'
const SSH_URL = new RegExp(`^ssh://(?:${USER}@)?${HOST}(?::\\d{1,5})?/(?!-)\\S+$`)
const SCP_LIKE = new RegExp(`^${USER}@${HOST}:(?!-)(?!/?/)\\S+$|^${USER}@${HOST}:/(?!/)(?!-)\\S+$`)
const HTTPS_URL = new RegExp(`^https://${HOST}(?::\\d{1,5})?(?:/\\S*)?$`, 'i')

export function remoteKind(url: string): RemoteKind {
  if (/[\u0000-\u001f\u007f]/.test(url)) return 'unsupported'
  if (url.startsWith('/') || url.startsWith('file:///')) return 'local'
  if (/^https?:\/\//i.test(url)) return HTTPS_URL.test(url) && validPort(url) ? 'https' : 'unsupported'
  if (SSH_URL.test(url)) return validPort(url) ? 'ssh' : 'unsupported'
  if (!url.includes('://') && SCP_LIKE.test(url)) return 'ssh'
  return 'unsupported'
}

function validPort(url: string): boolean {
  const m = /^(?:ssh|https):\/\/(?:[^@/]+@)?(?:\[[^\]]+\]|[^:/]+):(\d+)(?:\/|$)/i.exec(url)
  if (!m) return true
  const port = Number(m[1])
  return port >= 1 && port <= 65535
}

/** Single-quotes a word for the POSIX shell git runs GIT_SSH_COMMAND with. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** Where an SSH remote points: host, port and the user named in the URL (null when the URL has none). */
export function sshEndpoint(url: string): { host: string; port: number; user: string | null } {
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\//.exec(url) ?? /^([^@]+)@(\[[^\]]+\]|[^:]+):/.exec(url)
  if (!m) throw new Error(`not an ssh remote: ${url}`)
  return { host: m[2]!.replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : 22, user: m[1] ?? null }
}

export interface SshCommandOptions {
  keyFile: string
  knownHostsFile: string
  connectTimeoutSeconds?: number
  /** Log in as this user when the URL names none (from the credential). */
  user?: string | null
  /** Only the keys already in knownHostsFile are accepted (pinned); otherwise a new host is accepted on first contact. */
  strictHostKey?: boolean
  /** The key is encrypted: ssh asks SSH_ASKPASS for the passphrase (so batch mode, which forbids that, is off). */
  passphrase?: boolean
}

/**
 * The ssh command git uses for an SSH remote: only this key, no agent, no user config, and never a
 * prompt on a terminal. With an encrypted key the only question ssh may ask is the key's passphrase,
 * answered by SSH_ASKPASS; password and keyboard-interactive logins are off either way.
 */
export function sshCommand(o: SshCommandOptions): string {
  const opt = (value: string) => ['-o', shellQuote(value)]
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    shellQuote(o.keyFile),
    ...opt('IdentitiesOnly=yes'),
    ...opt('IdentityAgent=none'),
    ...opt(`StrictHostKeyChecking=${o.strictHostKey ? 'yes' : 'accept-new'}`),
    ...opt(`UserKnownHostsFile=${o.knownHostsFile}`),
    ...opt('GlobalKnownHostsFile=/dev/null'),
    ...opt(o.passphrase ? 'BatchMode=no' : 'BatchMode=yes'),
    ...opt('PreferredAuthentications=publickey'),
    ...opt('PasswordAuthentication=no'),
    ...opt('KbdInteractiveAuthentication=no'),
    ...(o.user ? opt(`User=${o.user}`) : []),
    ...opt(`ConnectTimeout=${Math.max(1, Math.floor(o.connectTimeoutSeconds ?? 30))}`),
  ].join(' ')
}
