/**
 * server/package.json's `start` script, split the way sh runs it: leading `NAME=value` environment
 * assignments (glibc reads MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_ once, when the process starts), then
 * `node` and its arguments. The e2e harness and the idle-rss benchmark start the server exactly so.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface StartScript {
  env: Record<string, string>
  /** node's arguments: flags, then the script. */
  args: string[]
}

export function parseStartScript(script: string): StartScript {
  const words = script.trim().split(/\s+/)
  const env: Record<string, string> = {}
  while (words.length && /^[A-Z_][A-Z0-9_]*=\S*$/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=')
    env[name!] = value.join('=')
  }
  if (words.shift() !== 'node') throw new Error(`unexpected start script (want [NAME=value …] node …): ${script}`)
  return { env, args: words }
}

export function serverStartScript(): StartScript {
  const pkg = JSON.parse(readFileSync(path.join(serverDir, 'package.json'), 'utf8')) as { scripts: { start: string } }
  return parseStartScript(pkg.scripts.start)
}
