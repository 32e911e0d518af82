import { encodeGlobalID } from '@pothos/plugin-relay'
import { builder } from '../builder.ts'
import { decodeId, decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import type { JobTypeAuthoring } from '../../modules/templates/templates.service.ts'
import type { ParameterDefinition } from '../../modules/templates/parameters.ts'
import { visibleTo } from '../../modules/actor.ts'
import type { OutputDeclaration } from '../../jobs/step-outputs.ts'
import { OutputKindEnum, ParameterTypeEnum, RetryBackoffEnum, VisibilityEnum } from './enums.ts'
import { OverlapPolicyEnum } from './schedules.ts'

const JobType = builder.objectRef<JobTypeAuthoring>('JobType').implement({
  description: 'A kind of job Switchyard can run, with the JSON Schema its template config must satisfy.',
  fields: (t) => ({
    type: t.exposeString('type'),
    label: t.exposeString('label'),
    description: t.exposeString('description'),
    usesTargets: t.exposeBoolean('usesTargets'),
    executesWorkerCode: t.exposeBoolean('executesWorkerCode', {
      description: 'Its config is code that runs on the worker itself (e.g. a playbook): only the roles in SWITCHYARD_WORKER_CODE_ROLES may author such templates.',
    }),
    publishesOutputs: t.exposeBoolean('publishesOutputs', {
      description: 'Its targets may publish step outputs through $SWITCHYARD_OUTPUTS; only templates of such types may declare outputs.',
    }),
    canAuthor: t.exposeBoolean('canAuthor', { description: 'Whether you may create templates of this type (or change one to it).' }),
    authorRefusal: t.exposeString('authorRefusal', { nullable: true, description: 'Why you may not author templates of this type, in words; null when you may.' }),
    configSchema: t.expose('configSchema', { type: 'JSON', description: 'JSON Schema (draft 2020-12) of the config.' }),
  }),
})

export const Parameter = builder.objectRef<ParameterDefinition>('ParameterDefinition').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.expose('type', { type: ParameterTypeEnum }),
    label: t.exposeString('label', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    required: t.exposeBoolean('required'),
    default: t.expose('default', { type: 'JSON', nullable: true }),
    choices: t.exposeStringList('choices', { nullable: true }),
  }),
})

const OutputDeclarationRef = builder.objectRef<OutputDeclaration>('OutputDeclaration').implement({
  description: 'A step output the template declares (its targets publish it through $SWITCHYARD_OUTPUTS). Undeclared keys are published too, as STRING.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: OutputKindEnum }),
    description: t.exposeString('description'),
  }),
})

interface SelectorShape {
  targetIds?: string[]
  inventoryIds?: string[]
  tags?: string[]
  namePatterns?: string[]
}
export const TargetSelector = builder.objectRef<SelectorShape>('TargetSelector').implement({
  fields: (t) => ({
    targets: t.prismaField({
      type: ['Target'],
      resolve: (query, s, _a, ctx) => ctx.prisma.target.findMany({ ...query, where: { id: { in: s.targetIds ?? [] } }, orderBy: { name: 'asc' } }),
    }),
    inventories: t.prismaField({
      type: ['Inventory'],
      resolve: (query, s, _a, ctx) => ctx.prisma.inventory.findMany({ ...query, where: { id: { in: s.inventoryIds ?? [] } }, orderBy: { name: 'asc' } }),
    }),
    // The ids alone, one level shallower than targets { id }: a workflow node's override selector sits
    // four levels down (workflow > nodes > overrides > targetSelector), and forms that send a selector
    // back need only the ids. Like `targets`, only ones that still exist.
    targetIds: t.idList({
      description: 'The ids of `targets` (listed targets that still exist), for forms that send the selector back.',
      resolve: async (s, _a, ctx) => (await ctx.prisma.target.findMany({ where: { id: { in: s.targetIds ?? [] } }, select: { id: true }, orderBy: { name: 'asc' } })).map((r) => encodeGlobalID('Target', r.id)),
    }),
    inventoryIds: t.idList({
      description: 'The ids of `inventories` (listed inventories that still exist), for forms that send the selector back.',
      resolve: async (s, _a, ctx) => (await ctx.prisma.inventory.findMany({ where: { id: { in: s.inventoryIds ?? [] } }, select: { id: true }, orderBy: { name: 'asc' } })).map((r) => encodeGlobalID('Inventory', r.id)),
    }),
    tags: t.stringList({ resolve: (s) => s.tags ?? [] }),
    namePatterns: t.stringList({ resolve: (s) => s.namePatterns ?? [] }),
  }),
})

builder.prismaNode('JobTemplate', {
  id: { field: 'id' },
  description: 'What to run (job type + config), where (target selector) and how (parameters, timeout, retry, parallelism).',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    jobType: t.exposeString('jobType'),
    tags: t.exposeStringList('tags', { description: 'Labels for grouping (notification rules select templates by tag).' }),
    config: t.expose('config', { type: 'JSON' }),
    targetSelector: t.field({ type: TargetSelector, resolve: (tpl) => tpl.targetSelector as SelectorShape }),
    parameters: t.field({ type: [Parameter], resolve: (tpl) => tpl.parameters as ParameterDefinition[] }),
    outputs: t.field({ type: [OutputDeclarationRef], description: 'Declared step outputs (command and script job types).', resolve: (tpl) => (tpl.outputs ?? []) as OutputDeclaration[] }),
    timeoutSeconds: t.exposeInt('timeoutSeconds', { nullable: true, description: 'Per attempt; null: no timeout.' }),
    retryMaxAttempts: t.exposeInt('retryMaxAttempts'),
    retryDelaySeconds: t.exposeInt('retryDelaySeconds'),
    retryBackoff: t.expose('retryBackoff', { type: RetryBackoffEnum }),
    maxParallelTargets: t.exposeInt('maxParallelTargets'),
    successThreshold: t.exposeFloat('successThreshold', { nullable: true, description: 'null: all targets must succeed; else the percentage that must.' }),
    overlapPolicy: t.expose('overlapPolicy', { type: OverlapPolicyEnum, description: 'For scheduled slots while an earlier run has not finished (schedules may override it).' }),
    maxConcurrentRuns: t.exposeInt('maxConcurrentRuns', { nullable: true, description: 'Strict limit on runs executing at once; others wait QUEUED. null: no limit.' }),
    logLimitLines: t.exposeInt('logLimitLines', { nullable: true, description: 'Most log lines one run stores; output past it is dropped and counted. null: the server default (SWITCHYARD_LOG_LIMIT_LINES).' }),
    logLimitBytes: t.exposeInt('logLimitBytes', { nullable: true, description: 'Most log bytes one run stores; output past it is dropped and counted. null: the server default (SWITCHYARD_LOG_LIMIT_BYTES).' }),
    schedules: t.relation('schedules', {
      description: 'The schedules of this template that you can see.',
      // Nested lists filter like the root ones: someone else's PRIVATE schedule must not show here.
      query: (_args, ctx) => ({ where: ctx.actor ? visibleTo(ctx.actor) : { id: { in: [] } }, orderBy: { name: 'asc' } }),
    }),
    visibility: t.expose('visibility', { type: VisibilityEnum }),
    owner: t.relation('owner'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

export const ParameterInput = builder.inputType('ParameterDefinitionInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    type: t.field({ type: ParameterTypeEnum, required: true }),
    label: t.string(),
    description: t.string(),
    required: t.boolean(),
    default: t.field({ type: 'JSON' }),
    choices: t.stringList(),
  }),
})

const OutputDeclarationInput = builder.inputType('OutputDeclarationInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'An identifier: letters, digits and _, at most 64 characters, not starting with a digit.' }),
    kind: t.field({ type: OutputKindEnum, description: 'Default STRING.' }),
    description: t.string(),
  }),
})

export const TargetSelectorInput = builder.inputType('TargetSelectorInput', {
  fields: (t) => ({
    targetIds: t.idList(),
    inventoryIds: t.idList(),
    tags: t.stringList(),
    namePatterns: t.stringList(),
  }),
})

const templateFields = (required: boolean) =>
  builder.inputType(required ? 'CreateJobTemplateInput' : 'UpdateJobTemplateInput', {
    description: required ? undefined : 'Omitted fields keep their value; timeoutSeconds/successThreshold/maxConcurrentRuns/logLimitLines/logLimitBytes: null clears them.',
    fields: (t) => ({
      name: t.string({ required }),
      description: t.string(),
      jobType: t.string({ required }),
      config: t.field({ type: 'JSON', required, description: 'Validated against the job type\'s configSchema (see `jobTypes`).' }),
      targetSelector: t.field({ type: TargetSelectorInput }),
      parameters: t.field({ type: [ParameterInput] }),
      outputs: t.field({ type: [OutputDeclarationInput], description: 'Declared step outputs (at most 200); replaces the whole list when given.' }),
      timeoutSeconds: t.int(),
      retryMaxAttempts: t.int(),
      retryDelaySeconds: t.int(),
      retryBackoff: t.field({ type: RetryBackoffEnum }),
      maxParallelTargets: t.int(),
      successThreshold: t.float(),
      overlapPolicy: t.field({ type: OverlapPolicyEnum }),
      maxConcurrentRuns: t.int(),
      logLimitLines: t.int(),
      logLimitBytes: t.int(),
      visibility: t.field({ type: VisibilityEnum }),
      tags: t.stringList({ description: 'Labels (letters, digits and _ . : / = -); replaces the whole list when given.' }),
    }),
  })
const CreateJobTemplateInput = templateFields(true)
const UpdateJobTemplateInput = templateFields(false)

function templateInput(
  input: Record<string, unknown> & { targetSelector?: Record<string, unknown> | null; parameters?: Array<Record<string, unknown>> | null; outputs?: Array<Record<string, unknown>> | null },
) {
  const out: Record<string, unknown> = withoutNulls(input, ['timeoutSeconds', 'successThreshold', 'maxConcurrentRuns', 'logLimitLines', 'logLimitBytes'])
  if (input.targetSelector) {
    const s = input.targetSelector as { targetIds?: string[] | null; inventoryIds?: string[] | null; tags?: string[] | null; namePatterns?: string[] | null }
    out.targetSelector = {
      targetIds: decodeIds(s.targetIds?.map(String), 'Target', 'input.targetSelector.targetIds'),
      inventoryIds: decodeIds(s.inventoryIds?.map(String), 'Inventory', 'input.targetSelector.inventoryIds'),
      tags: s.tags ?? [],
      namePatterns: s.namePatterns ?? [],
    }
  }
  if (input.parameters) out.parameters = input.parameters.map((p) => withoutNulls(p))
  if (input.outputs) out.outputs = input.outputs.map((o) => withoutNulls(o))
  return out
}

builder.queryFields((t) => ({
  jobTypes: t.field({
    type: [JobType],
    // Like every other operation but login, this needs a signed-in user (it was readable anonymously).
    resolve: (_r, _a, ctx) => ctx.services.templates.jobTypes(ctx.actor),
  }),
  jobTemplates: t.prismaField({
    type: ['JobTemplate'],
    description: 'Templates you can see: GLOBAL ones and your own PRIVATE ones.',
    args: { search: t.arg.string(), jobTypes: t.arg.stringList() },
    resolve: (query, _r, args, ctx) => ctx.services.templates.list(ctx.actor, args, query),
  }),
  jobTemplate: t.prismaField({
    type: 'JobTemplate',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.templates.get(ctx.actor, decodeId(String(args.id), 'JobTemplate', 'id')),
  }),
}))

builder.mutationFields((t) => ({
  createJobTemplate: t.prismaField({
    type: 'JobTemplate',
    args: { input: t.arg({ type: CreateJobTemplateInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.templates.create(ctx.actor, templateInput(args.input)),
  }),
  updateJobTemplate: t.prismaField({
    type: 'JobTemplate',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateJobTemplateInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.templates.update(ctx.actor, decodeId(String(args.id), 'JobTemplate', 'id'), templateInput(args.input)),
  }),
  deleteJobTemplate: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.templates.delete(ctx.actor, decodeId(String(args.id), 'JobTemplate', 'id'))
      return args.id
    },
  }),
}))
