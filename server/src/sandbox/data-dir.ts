/**
 * The data directory (secret.key, postgres.password, the embedded cluster) must stay out of reach of the
 * processes runs start. They run as another, unprivileged user when the server is root; this makes sure
 * that user cannot list the directory or read the key files even when they were created or copied with
 * looser modes (an older install, a restored backup).
 */
import fs from 'node:fs'
import path from 'node:path'

const KEY_FILES = ['secret.key', 'postgres.password']

/**
 * Tightens modes in place; returns what it changed (for a log line). `allowTraverse`: others may keep search
 * (x) permission, which the embedded Postgres needs when the server is root (it runs as its own user and
 * reaches its cluster directory inside: see db/embedded-postgres.ts); nothing else is left to them.
 */
export function protectDataDir(dataDir: string, allowTraverse: boolean): string[] {
  const changed: string[] = []
  if (!fs.existsSync(dataDir)) return changed
  const dirMode = fs.statSync(dataDir).mode & 0o777
  const forbidden = allowTraverse ? 0o066 : 0o077
  if (dirMode & forbidden) {
    fs.chmodSync(dataDir, dirMode & ~forbidden)
    changed.push(`${dataDir} ${dirMode.toString(8)} → ${(dirMode & ~forbidden).toString(8)}`)
  }
  for (const name of KEY_FILES) {
    const file = path.join(dataDir, name)
    const stat = fs.lstatSync(file, { throwIfNoEntry: false })
    if (!stat?.isFile()) continue
    const mode = stat.mode & 0o777
    if (mode & 0o077) {
      fs.chmodSync(file, 0o600)
      changed.push(`${file} ${mode.toString(8)} → 600`)
    }
  }
  return changed
}
