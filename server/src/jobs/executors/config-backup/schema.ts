/**
 * config_backup's template config: the zod schema (what the UI's form and the template service check),
 * the cross-field and placeholder checks, and which stored credential the config names.
 */
import { z } from 'zod'
import { userRegexProblem } from '../../../util/safe-regex.ts'
import { remoteKind } from '../../../git/remote.ts'
import { credentialIdField, credentialUuid, type CredentialRef } from '../credential-ref.ts'
import type { ExecutionContext } from '../types.ts'
import { placeholders } from './placeholders.ts'
import { customFieldKey, customFieldType } from '../nautobot-port.ts'

const PATH_ROOTS = new Set(['target', 'date', 'command', 'params', 'run'])
const MESSAGE_ROOTS = new Set(['targets', 'changed', 'unchanged', 'failed', 'date', 'run', 'branch'])

const commandEntry = z.union([
  z.string().trim().min(1, 'a command must not be empty'),
  z
    .object({
      command: z.string().trim().min(1, 'a command must not be empty').describe('The command to run.'),
      path: z.string().trim().min(1).optional().describe('Where this command\'s output goes (a path template); overrides `pathTemplate`.'),
    })
    .strict(),
])

export const configSchema = z
  .object({
    commands: z
      .array(commandEntry)
      .min(1)
      .max(20)
      .describe(
        'Read-only commands run on each target, one file per command: `show running-config`, `cat /etc/hostname`. ' +
          'A plain string is stored at `pathTemplate`; `{ "command": …, "path": … }` names its own file. Placeholders ' +
          '`{{ target.name }}`, `{{ params.x }}` in a command are replaced by single-quoted values.',
      ),
    repository: z
      .string()
      .trim()
      .superRefine((v, issues) => {
        if (remoteKind(v) === 'unsupported') {
          issues.addIssue({
            code: 'custom',
            message:
              'must be an absolute path, a file:/// URL, ssh://user@host[:port]/path, user@host:path or https://host[:port]/path ' +
              '(no spaces; no user or password in an https URL: use repositoryCredentialId)',
          })
        }
      })
      .describe(
        'The Git repository to push to: an absolute path or file:/// URL of a (bare) repository on the worker host; an SSH remote ' +
          '(`ssh://user@host:port/path/repo.git` or `user@host:path/repo.git`) authenticated with a key from `repositoryCredentialId` ' +
          'or `repositoryKeyParameter`; or an HTTPS remote (`https://git.example.net/net/configs.git`) authenticated with the user name ' +
          'and password or access token of `repositoryCredentialId`.',
      ),
    repositoryCredentialId: credentialIdField(
      'A stored credential for the remote: a PRIVATE_KEY credential for an SSH remote (its user name is used when the URL names none; ' +
        'an encrypted key works with its passphrase), a PASSWORD credential (user name + password or access token) for an HTTPS remote.',
    ).optional(),
    repositoryKeyParameter: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of a template parameter')
      .optional()
      .describe(
        'For an SSH repository, instead of a stored credential: the name of a SECRET template parameter whose value is the private key ' +
          '(OpenSSH or PEM, without passphrase) that may push to the repository.',
      ),
    repositoryHostKeys: z
      .array(z.string().trim().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}$/, 'must be a public key line like "ssh-ed25519 AAAA…" (as in known_hosts, without the host)'))
      .max(10)
      .optional()
      .describe(
        'For an SSH repository: the server\'s host public key(s) (`ssh-ed25519 AAAA…`); only these are accepted. Without them the key ' +
          'is accepted on first contact in each run and written to the run log, ready to be pinned here.',
      ),
    repositoryCaCertificate: z
      .string()
      .trim()
      .regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, 'must be a PEM certificate (-----BEGIN CERTIFICATE----- …)')
      .max(65536)
      .optional()
      .describe('For an HTTPS repository: the PEM certificate of the CA (or of the self-signed server) to trust instead of the system\'s CAs.'),
    nautobotWriteBack: z
      .object({
        customField: customFieldKey.describe('The key of the device custom field to set (create it in Nautobot on content type dcim.device, type Date, Date/time or Text).'),
        fieldType: customFieldType.default('datetime').describe('The custom field\'s type in Nautobot: `datetime` (UTC, whole seconds), `date` (YYYY-MM-DD) or `text` (ISO 8601 time).'),
        strict: z.boolean().default(false).describe('A failed write fails the target (its backup stays stored); otherwise it is a warning on the target.'),
      })
      .strict()
      .optional()
      .describe(
        'Sets a Nautobot device custom field to the backup time on every backed-up target that came from a Nautobot inventory source; ' +
          'each target\'s result says written, unchanged, skipped (why) or failed (why).',
      ),
    backupTimeAttribute: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'must be an attribute name (letters, digits, _ and -, starting with a letter or _)')
      .optional()
      .describe(
        'When set (e.g. `lastBackupAt`), every target whose backup was stored (changed or unchanged) gets this attribute set to the ' +
          'time of the backup (ISO 8601, UTC). Failed targets keep their previous value.',
      ),
    branch: z
      .string()
      .trim()
      .regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/-]+$/, 'must be a valid branch name')
      .refine((v) => !v.endsWith('/') && !v.endsWith('.') && !v.endsWith('.lock') && !v.startsWith('/'), 'must be a valid branch name')
      .default('main')
      .describe('Branch to commit to; created when the repository does not have it yet.'),
    pathTemplate: z
      .string()
      .trim()
      .min(1)
      .default('{target.name}/{command.index}.txt')
      .describe(
        'File path in the repository for each output. Placeholders: `{target.name}`, `{target.host}`, ' +
          '`{target.attributes.<name>}`, `{date}` (YYYY-MM-DD, UTC), `{command.index}` (1, 2, …), `{params.<name>}`, `{run.id}`.',
      ),
    stripPatterns: z
      .array(
        z
          .string()
          .min(1)
          .superRefine((pattern, issues) => {
            const problem = userRegexProblem(pattern)
            if (problem) issues.addIssue({ code: 'custom', message: problem })
          }),
      )
      .max(100)
      .default([])
      .describe('Regular expressions (JavaScript syntax); output lines matching any of them are dropped before writing — timestamps, uptime, counters.'),
    authorName: z.string().trim().min(1).max(200).default('Switchyard').describe('Commit author and committer name.'),
    authorEmail: z
      .string()
      .trim()
      .regex(/^[^\s<>@]+@[^\s<>@]+$/, 'must be an e-mail address')
      .default('switchyard@localhost')
      .describe('Commit author and committer e-mail.'),
    messageTemplate: z
      .string()
      .trim()
      .min(1)
      .max(1000)
      .default('Config backup: {targets} targets, {changed} changed, {failed} failed (run {run.id})')
      .describe(
        'First line of the commit message. Placeholders: `{targets}`, `{changed}`, `{unchanged}`, `{failed}`, `{date}`, ' +
          '`{branch}`, `{run.id}`. A line per target (changed, unchanged or failed) follows in the body.',
      ),
    connectTimeoutSeconds: z.number().int().min(1).max(300).default(15).describe('Time allowed per target to connect and log in.'),
  })
  .strict()
  .superRefine((config, issues) => {
    const kind = remoteKind(config.repository)
    const problem = (field: string, message: string) => issues.addIssue({ code: 'custom', path: [field], message })
    if (kind === 'ssh' && !config.repositoryKeyParameter && !config.repositoryCredentialId) {
      problem('repositoryCredentialId', 'an ssh repository needs a credential (or repositoryKeyParameter naming a SECRET parameter that holds the private key)')
    }
    if (config.repositoryKeyParameter && config.repositoryCredentialId) problem('repositoryKeyParameter', 'give either repositoryCredentialId or repositoryKeyParameter, not both')
    if (config.repositoryKeyParameter && kind !== 'ssh') problem('repositoryKeyParameter', 'only used with an ssh repository')
    if (config.repositoryCredentialId && kind === 'local') problem('repositoryCredentialId', 'a local repository takes no credential')
    if (config.repositoryHostKeys?.length && kind !== 'ssh') problem('repositoryHostKeys', 'only used with an ssh repository')
    if (config.repositoryCaCertificate && kind !== 'https') problem('repositoryCaCertificate', 'only used with an https repository')
    checkVariables(config.pathTemplate, PATH_ROOTS, ['pathTemplate'], issues)
    checkVariables(config.messageTemplate, MESSAGE_ROOTS, ['messageTemplate'], issues)
    config.commands.forEach((c, i) => {
      if (typeof c !== 'string' && c.path) checkVariables(c.path, PATH_ROOTS, ['commands', i, 'path'], issues)
    })
    const sharesTemplate = config.commands.filter((c) => typeof c === 'string' || !c.path).length
    if (sharesTemplate > 1 && !placeholders(config.pathTemplate).some((v) => v.startsWith('command.'))) {
      issues.addIssue({
        code: 'custom',
        path: ['pathTemplate'],
        message: 'several commands share this template: it must contain {command.index} (or give each command its own path)',
      })
    }
  })

export type ConfigBackupConfig = z.output<typeof configSchema>
export type Context = ExecutionContext<ConfigBackupConfig>

/** The stored credential named by `repositoryCredentialId`, and which kind fits the remote. */
export function credentialRefs(config: ConfigBackupConfig): CredentialRef[] {
  if (!config.repositoryCredentialId) return []
  const ssh = remoteKind(config.repository) === 'ssh'
  return [
    {
      path: ['repositoryCredentialId'],
      id: credentialUuid(config.repositoryCredentialId)!,
      kinds: ssh ? ['PRIVATE_KEY'] : ['PASSWORD'],
      purpose: ssh ? 'an ssh repository needs a PRIVATE_KEY credential' : 'an https repository needs a PASSWORD credential (user name + password or access token)',
    },
  ]
}

function checkVariables(text: string, roots: ReadonlySet<string>, path: Array<string | number>, issues: z.RefinementCtx): void {
  for (const v of placeholders(text)) {
    const root = v.split('.')[0]!
    if (!roots.has(root)) issues.addIssue({ code: 'custom', path, message: `unknown placeholder {${v}}; known: ${[...roots].map((r) => `{${r}…}`).join(', ')}` })
    else if (root === 'command' && v !== 'command.index') issues.addIssue({ code: 'custom', path, message: `unknown placeholder {${v}}; use {command.index}` })
  }
}

