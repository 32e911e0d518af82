/**
 * What kind of Git remote a configured repository string is, and whether it is one Switchyard accepts:
 * a local repository (absolute path or file:/// URL) or an SSH remote (`ssh://user@host:port/path` or the
 * scp-like `user@host:path`). Anything else (https, git://, ext::, relative paths, option-like strings) is
 * `unsupported`. The checks are strict on purpose: the string ends up as a git argument and in a
 * GIT_SSH_COMMAND connection, so no whitespace, no control characters, no host or path starting with `-`.
 */
export type RemoteKind = 'local' | 'ssh' | 'https' | 'unsupported'

const USER = '[A-Za-z0-9._-]+'
const HOST = '(?:[A-Za-z0-9][A-Za-z0-9.-]*|\\[[0-9A-Fa-f:.]+\\])'
const SSH_URL = new RegExp(`^ssh://(?:${USER}@)?${HOST}(?::\\d{1,5})?/(?!-)\\S+$`)
const SCP_LIKE = new RegExp(`^${USER}@${HOST}:(?!-)(?!/?/)\\S+$|^${USER}@${HOST}:/(?!/)(?!-)\\S+$`)

export function remoteKind(url: string): RemoteKind {
  if (/[\u0000-\u001f\u007f]/.test(url)) return 'unsupported'
  if (url.startsWith('/') || url.startsWith('file:///')) return 'local'
  if (/^https?:\/\//i.test(url)) return 'https'
  if (SSH_URL.test(url)) return validPort(url) ? 'ssh' : 'unsupported'
  if (!url.includes('://') && SCP_LIKE.test(url)) return 'ssh'
  return 'unsupported'
}

function validPort(url: string): boolean {
  const m = /^ssh:\/\/(?:[^@/]+@)?(?:\[[^\]]+\]|[^:/]+):(\d+)\//.exec(url)
  if (!m) return true
  const port = Number(m[1])
  return port >= 1 && port <= 65535
}

/** Single-quotes a word for the POSIX shell git runs GIT_SSH_COMMAND with. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** The ssh command git uses for an SSH remote: only this key, no agent, no user config, never a prompt. */
export function sshCommand(keyFile: string, knownHostsFile: string, connectTimeoutSeconds = 30): string {
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    shellQuote(keyFile),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    shellQuote(`UserKnownHostsFile=${knownHostsFile}`),
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${Math.max(1, Math.floor(connectTimeoutSeconds))}`,
  ].join(' ')
}

/** Private key text as ssh expects it in a file: Unix line ends and a final newline (ssh refuses the key otherwise). */
export function normalisePrivateKey(text: string): string {
  const key = text.replace(/\r\n?/g, '\n').trim()
  return `${key}\n`
}
