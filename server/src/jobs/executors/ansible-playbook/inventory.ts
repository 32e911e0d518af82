/**
 * The files ansible reads, written into the run's private dir: inventory (targets, credentials, pinned
 * known_hosts), extra vars and playbook, every string tagged `!unsafe` so Ansible never templates it.
 *
 * Host names are the one thing `!unsafe` cannot cover: an inventory key is a name, not a value, and Ansible
 * templates `inventory_hostname` in places (a target named `j{{ lookup('pipe', …) }}` ran that pipe on the
 * worker). So a target is named by its own name only when that is a plain host name; any other gets an
 * alias (`switchyard_target_1`, …) and the run log says which.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ScannedHostKey } from '../../../ssh/host-key-scan.ts'
import { knownHostsLines, normalisePrivateKey } from '../../../ssh/known-hosts.ts'
import { renderTemplate } from '../../../util/template.ts'
import type { RunTargetHandle } from '../types.ts'
import type { Context } from './config.ts'

export function renderExtraVars(ctx: Context): Record<string, unknown> {
  const vars = { ...ctx.parameters, params: ctx.parameters }
  const whole = /^\{\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*\}\}$/
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const m = whole.exec(value)
      if (m) {
        // Exactly one placeholder: keep the parameter's own type (number, boolean, list…).
        const raw = m[1]!.split('.').reduce<unknown>((cur, key) => (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined), vars)
        if (raw !== undefined) return raw
      }
      return renderTemplate(value, vars, { quote: 'none' })
    }
    if (Array.isArray(value)) return value.map(render)
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v)]))
    return value
  }
  return render(ctx.config.extraVars ?? {}) as Record<string, unknown>
}

/**
 * YAML in flow style (JSON-like) where every string is tagged `!unsafe`: Ansible never templates it, so a
 * parameter or password containing `{{ … }}` cannot run lookups on the controller.
 */
export function toUnsafeYaml(value: unknown): string {
  if (typeof value === 'string') return `!unsafe ${JSON.stringify(value)}`
  if (Array.isArray(value)) return `[${value.map(toUnsafeYaml).join(', ')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toUnsafeYaml(v)}`).join(', ')}}`
  }
  return JSON.stringify(value ?? null)
}

/**
 * Names that are inert wherever Ansible puts them: letters, digits, `.`, `_` and `-`, starting with a letter
 * or digit. Not `:` (the YAML inventory reads `name:22` as host `name`, port 22), `@`, brackets (`web[1:3]`
 * is a range), spaces, quotes, braces or `%`/`#` (Jinja).
 */
const PLAIN_HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/

/** The inventory name of each target: its own name when plain, else an alias no other target uses. */
export function inventoryNames(targets: readonly RunTargetHandle[]): Map<string, RunTargetHandle> {
  const byName = new Map<string, RunTargetHandle>()
  const plain = new Set(targets.filter((t) => PLAIN_HOST_NAME.test(t.name)).map((t) => t.name))
  let n = 0
  for (const t of targets) {
    if (PLAIN_HOST_NAME.test(t.name)) {
      byName.set(t.name, t)
      continue
    }
    let alias: string
    do alias = `switchyard_target_${++n}`
    while (plain.has(alias) || byName.has(alias))
    byName.set(alias, t)
  }
  return byName
}

/** Writes the playbook's files; `hosts` maps each inventory name to its target (see inventoryNames). */
export async function prepareDir(ctx: Context, dir: string, hosts: ReadonlyMap<string, RunTargetHandle>, extraVars: Record<string, unknown>, pinned: ReadonlyMap<string, ScannedHostKey>) {
  const targets = [...hosts.values()]
  const write = (name: string, text: string) => writeFile(join(dir, name), text, { mode: 0o600 })
  await mkdir(join(dir, 'tmp'), { mode: 0o700 })
  // Exactly the pinned key per target, and strict checking: ansible's ssh accepts nothing else.
  await write('known_hosts', targets.map((t) => knownHostsLines(t.host, t.port, [pinned.get(t.id)!.publicKey])).join(''))
  const sshArgs = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null`
  const inventory: Record<string, Record<string, unknown>> = {}
  for (const [i, [name, t]] of [...hosts].entries()) {
    const cred = t.credential!
    const host: Record<string, unknown> = { ansible_host: t.host, ansible_port: t.port, ansible_user: cred.username, ansible_ssh_common_args: sshArgs }
    if (cred.kind === 'PASSWORD') host.ansible_password = cred.password
    else {
      const keyFile = join(dir, `key-${i}`)
      await writeFile(keyFile, normalisePrivateKey(cred.privateKey), { mode: 0o600 })
      host.ansible_ssh_private_key_file = keyFile
    }
    inventory[name] = host
  }
  await write('inventory.yml', `${toUnsafeYaml({ all: { hosts: inventory } })}\n`)
  await write('extra-vars.yml', `${toUnsafeYaml(extraVars)}\n`)
  await write('playbook.yml', `${ctx.config.playbook}\n`)
}
