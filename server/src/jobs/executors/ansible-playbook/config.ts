/**
 * What an ansible_playbook run is configured with: the template config's zod schema (what the UI's form
 * and the template service check) and the paths of the tools it runs.
 */
import { z } from 'zod'
import type { ExecutionContext } from '../types.ts'

export const configSchema = z.object({
  playbook: z
    .string()
    .trim()
    .min(1, 'the playbook must not be empty')
    .max(256 * 1024)
    .describe('The playbook, inline YAML (a list of plays). Use `hosts: all`: the inventory holds exactly the run\'s targets, named by target name.'),
  extraVars: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an Ansible variable name'), z.unknown())
    .optional()
    .meta({ title: 'Extra variables' })
    .describe(
      'Extra variables (`--extra-vars`, highest precedence). String values may contain `{{ name }}` / `{{ params.name }}` ' +
        'placeholders for template parameters; a value that is exactly one placeholder keeps the parameter\'s type. ' +
        'Values are passed as unsafe (never templated by Ansible).',
    ),
  checkMode: z.boolean().default(false).describe('Dry run (`--check`): report what would change without changing it.'),
  diff: z.boolean().default(false).describe('Show the differences in changed files and templates (`--diff`).'),
  limit: z.string().trim().min(1).max(1000).optional().describe('Ansible host pattern (`--limit`) further restricting the targets; unmatched targets end SKIPPED.'),
  tags: z.array(z.string().trim().min(1).regex(/^[^,\s]+$/, 'one tag, no commas or spaces')).max(50).optional().describe('Only run tasks with these tags (`--tags`).'),
  skipTags: z.array(z.string().trim().min(1).regex(/^[^,\s]+$/, 'one tag, no commas or spaces')).max(50).optional().describe('Skip tasks with these tags (`--skip-tags`).'),
  forks: z.number().int().min(1).max(200).optional().describe("Hosts worked on in parallel (`--forks`). Default: the template's per-target parallelism."),
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(15).describe('SSH connection timeout per host (ANSIBLE_TIMEOUT).'),
}).strict()

export type AnsiblePlaybookConfig = z.output<typeof configSchema>
export type Context = ExecutionContext<AnsiblePlaybookConfig>

export interface AnsibleToolPaths {
  ansiblePlaybook?: string
  /** Needed only for password credentials. */
  sshpass?: string
  /** Reads host keys to pin (OpenSSH client). */
  sshKeyscan?: string
}
