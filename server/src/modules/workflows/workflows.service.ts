/**
 * Workflow definitions: create, update (omitted fields keep their value), delete, read. A workflow and
 * its nodes and edges are written in one transaction with its audit event, after every check passed:
 * nothing is ever half-saved. Running them is workflow-runs.service.ts.
 */
import { Prisma, type PrismaClient, type Workflow, type WorkflowEdge, type WorkflowNode } from '../../generated/prisma/client.ts'
import { ConflictError, NotFoundError, ValidationError, isUniqueViolation, type FieldProblem } from '../../errors.ts'
import { canSee, requireActor, requireCanEdit, requireCanSetVisibility, requireWriter, visibleTo, type Actor } from '../actor.ts'
import { audited, entity } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { checkWorkflowCanBecomePrivate } from '../schedules/schedule-exposure.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import { referencesOf, type Reference } from './expressions.ts'
import type { OutputDeclaration } from '../../jobs/step-outputs.ts'
import type { ExecutorRegistry } from '../../jobs/executors/registry.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { graphProblems, workflowSchema, type EdgeInput, type NodeInput, type WorkflowInput } from './workflow-graph.ts'
import { normalizeOverrides, overrideProblems } from './node-overrides.ts'
import { nestingProblems } from './workflow-nesting.ts'

const AUDITED_FIELDS = ['name', 'description', 'parameters', 'visibility']

export type WorkflowWithGraph = Workflow & { nodes: WorkflowNode[]; edges: WorkflowEdge[] }

export class WorkflowsService {
  constructor(
    private readonly prisma: PrismaClient,
    /** Which job types run on targets (a node's target override needs one that does) and which publish step outputs. */
    private readonly registry: ExecutorRegistry,
  ) {}

  list(actor: Actor | null, query: Omit<Prisma.WorkflowFindManyArgs, 'where'> = {}): Promise<Workflow[]> {
    const a = requireActor(actor)
    return this.prisma.workflow.findMany({ orderBy: { name: 'asc' }, ...query, where: visibleTo(a) })
  }

  /** Invisible (someone else's PRIVATE workflow) and missing look the same: not found. */
  async get(actor: Actor | null, id: string, field = 'id'): Promise<WorkflowWithGraph> {
    const a = requireActor(actor)
    const row = await this.prisma.workflow.findUnique({ where: { id }, include: { nodes: { orderBy: { position: 'asc' } }, edges: { orderBy: { position: 'asc' } } } })
    if (!row || !canSee(a, row)) throw new NotFoundError('workflow', field)
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<Workflow> {
    const a = requireWriter(actor)
    const input = parseInput(workflowSchema, raw)
    requireCanSetVisibility(a, input.visibility)
    await this.check(a, input, null)
    try {
      return await audited(
        this.prisma,
        async (tx) => {
          const row = await tx.workflow.create({
            data: { name: input.name, description: input.description, visibility: input.visibility, parameters: input.parameters as Prisma.InputJsonValue, ownerId: a.userId },
          })
          await writeGraph(tx, row.id, input.nodes, input.edges)
          return row
        },
        (row) => ({ actor: a, action: 'workflow.create', entity: entity.of('Workflow', row), changes: { ...created(row, AUDITED_FIELDS), ...graphSummary(input.nodes, input.edges) } }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `you already have a workflow named "${input.name}"`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<Workflow> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'workflow')
    const patch = parsePatch(workflowSchema, raw) // only the given fields: omitted ones keep their value
    if (patch.visibility) requireCanSetVisibility(a, patch.visibility)
    const merged: WorkflowInput = {
      name: patch.name ?? existing.name,
      description: patch.description ?? existing.description,
      parameters: patch.parameters ?? (existing.parameters as ParameterDefinition[]),
      visibility: patch.visibility ?? existing.visibility,
      nodes: patch.nodes ?? existing.nodes.map(nodeOf),
      // Edges name nodes by key, so the saved ones still apply to a new node list (and are checked against it).
      edges: patch.edges ?? existing.edges.map((e) => ({ from: e.fromKey, to: e.toKey, kind: e.kind })),
    }
    await this.check(a, merged, id)
    const graphChanged = patch.nodes !== undefined || patch.edges !== undefined
    try {
      return await audited(
        this.prisma,
        async (tx) => {
          if (patch.visibility === 'PRIVATE' && existing.visibility !== 'PRIVATE') await checkWorkflowCanBecomePrivate(tx, existing)
          const row = await tx.workflow.update({
            where: { id },
            data: { name: patch.name, description: patch.description, visibility: patch.visibility, parameters: patch.parameters as Prisma.InputJsonValue | undefined, updatedAt: new Date() },
          })
          if (graphChanged) await writeGraph(tx, id, merged.nodes, merged.edges, true)
          return row
        },
        (row) => ({
          actor: a,
          action: 'workflow.update',
          entity: entity.of('Workflow', row),
          changes: { ...changed(existing, row, AUDITED_FIELDS), ...(graphChanged ? graphSummary(merged.nodes, merged.edges, existing) : {}) },
        }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `you already have a workflow named "${merged.name}"`)
      throw e
    }
  }

  async delete(actor: Actor | null, id: string): Promise<Workflow> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'workflow')
    return audited(
      this.prisma,
      (tx) => tx.workflow.delete({ where: { id } }),
      (row) => ({ actor: a, action: 'workflow.delete', entity: entity.of('Workflow', row) }),
    )
  }

  /**
   * Every problem at once: the graph's (cycles, references, nodes that can never run), then each
   * TEMPLATE node's template (it must exist and be visible to whoever saves), the parameter names it
   * is given and its overrides, then each WORKFLOW node's workflow (visible, not recursive, not nested
   * too deep) and its parameters.
   */
  private async check(actor: Actor, input: WorkflowInput, selfId: string | null): Promise<void> {
    const problems: FieldProblem[] = graphProblems(input.nodes, input.edges, new Set(input.parameters.map((p) => p.name)))
    const secretParams = new Set(input.parameters.filter((p) => p.type === 'SECRET').map((p) => p.name))
    const ids = [...new Set(input.nodes.flatMap((n) => (n.templateId ? [n.templateId] : [])))]
    const templates = new Map((await this.prisma.jobTemplate.findMany({ where: { id: { in: ids } } })).map((t) => [t.id, t]))
    // SECRET step outputs each node's template declares: they go into SECRET parameters only.
    const secretOutputs = new Map(
      input.nodes.map((n) => [n.key, new Set(((n.templateId ? templates.get(n.templateId)?.outputs : null) as OutputDeclaration[] | null ?? []).filter((o) => o.kind === 'SECRET').map((o) => o.name))]),
    )
    const isSecret = (r: Reference) => (r.kind === 'param' && secretParams.has(r.name)) || (r.kind === 'node' && r.field === 'outputs' && reachesSecret(r.path, secretOutputs.get(r.key)))
    problems.push(...outputReferenceProblems(this.registry, input, templates))
    for (const [i, n] of input.nodes.entries()) {
      if (n.kind !== 'TEMPLATE' || !n.templateId) continue
      const t = templates.get(n.templateId)
      if (!t || !canSee(actor, t)) {
        problems.push({ field: `input.nodes.${i}.templateId`, message: 'no such job template (or it is not visible to you)' })
        continue
      }
      problems.push(...mappingProblems(n.parameters, t.parameters as ParameterDefinition[], `template "${t.name}"`, isSecret, `input.nodes.${i}.parameters`))
      const overrides = normalizeOverrides(n.overrides)
      if (overrides) problems.push(...(await overrideProblems(this.prisma, overrides, this.registry.get(t.jobType)?.usesTargets ?? false, t.jobType, `input.nodes.${i}.overrides`)))
    }
    const subIds = [...new Set(input.nodes.flatMap((n) => (n.kind === 'WORKFLOW' && n.workflowId ? [n.workflowId] : [])))]
    const subs = new Map((await this.prisma.workflow.findMany({ where: { id: { in: subIds } } })).map((w) => [w.id, w]))
    let nestingOk = true
    input.nodes.forEach((n, i) => {
      if (n.kind !== 'WORKFLOW' || !n.workflowId) return
      const w = subs.get(n.workflowId)
      if (!w || !canSee(actor, w)) return void ((nestingOk = false), problems.push({ field: `input.nodes.${i}.workflowId`, message: 'no such workflow (or it is not visible to you)' }))
      problems.push(...mappingProblems(n.parameters, w.parameters as ParameterDefinition[], `workflow "${w.name}"`, isSecret, `input.nodes.${i}.parameters`))
    })
    if (nestingOk) problems.push(...(await nestingProblems(this.prisma, selfId, input.name, input.nodes)))
    const userIds = [...new Set(input.nodes.flatMap((n) => n.approval?.approverUserIds ?? []))]
    const users = new Set((await this.prisma.user.findMany({ where: { id: { in: userIds } }, select: { id: true } })).map((u) => u.id))
    input.nodes.forEach((n, i) =>
      n.approval?.approverUserIds.forEach((id, j) => {
        if (!users.has(id)) problems.push({ field: `input.nodes.${i}.approval.approverUserIds.${j}`, message: 'no such user' })
      }),
    )
    if (problems.length) throw new ValidationError(problems)
  }
}

/** Step outputs only come from job types that publish them: `{{ nodes.scan.outputs.x }}` on a noop never resolves. */
function outputReferenceProblems(registry: ExecutorRegistry, input: WorkflowInput, templates: ReadonlyMap<string, { jobType: string }>): FieldProblem[] {
  const jobTypeOf = new Map(input.nodes.map((n) => [n.key, n.templateId ? templates.get(n.templateId)?.jobType : undefined]))
  const problems: FieldProblem[] = []
  input.nodes.forEach((n, i) => {
    const values: Array<[string, unknown]> = Object.entries(n.parameters).map(([name, v]) => [`input.nodes.${i}.parameters.${name}`, v])
    if (n.approval?.message) values.push([`input.nodes.${i}.approval.message`, n.approval.message])
    for (const [field, value] of values) {
      let refs: Reference[] = []
      try {
        refs = referencesOf(value)
      } catch {
        continue // malformed: reported by graphProblems
      }
      for (const r of refs) {
        if (r.kind !== 'node' || r.field !== 'outputs') continue
        const jobType = jobTypeOf.get(r.key)
        if (jobType && !registry.get(jobType)?.publishesOutputs) problems.push({ field, message: `{{ ${r.text} }}: node "${r.key}" runs job type ${jobType}, which publishes no step outputs` })
      }
    }
  })
  return problems
}

/**
 * A node's values against its template's parameters, as far as they are known at save: names the
 * template has, literals of the right type, required ones given (or defaulted), and secrets kept
 * secret — a SECRET template parameter takes a SECRET workflow parameter (a literal would be stored
 * in clear in the workflow), and a SECRET workflow parameter goes nowhere else.
 */
function mappingProblems(values: Record<string, unknown>, defs: ParameterDefinition[], owner: string, isSecret: (r: Reference) => boolean, base: string): FieldProblem[] {
  const problems: FieldProblem[] = []
  for (const name of Object.keys(values)) {
    if (!defs.some((d) => d.name === name)) problems.push({ field: `${base}.${name}`, message: `${owner} has no parameter "${name}"` })
  }
  for (const def of defs) {
    const value = values[def.name]
    const field = `${base}.${def.name}`
    if (value === undefined || value === null) {
      if (def.required && def.default == null) problems.push({ field, message: `required by ${owner}` })
      continue
    }
    let refs: Reference[] = []
    try {
      refs = referencesOf(value)
    } catch {
      continue // malformed: reported by graphProblems
    }
    const secretRef = refs.some(isSecret)
    if (def.type === 'SECRET' && !(refs.length === 1 && secretRef && typeof value === 'string' && /^\{\{[^{}]*\}\}$/.test(value.trim()))) {
      problems.push({
        field,
        message: 'a SECRET parameter takes exactly one SECRET workflow parameter, {{ params.<name> }}, or one SECRET step output, {{ nodes.<key>.outputs.<name> }} (anything else would be stored or shown in clear)',
      })
    } else if (def.type !== 'SECRET' && secretRef) {
      problems.push({ field, message: `"${def.name}" is not a SECRET parameter of ${owner}: a SECRET workflow parameter or SECRET step output may not go into it` })
    } else if (!refs.length) {
      try {
        resolveParameters([def], { [def.name]: value }, base)
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e
        problems.push(...e.fields)
      }
    }
  }
  return problems
}

/**
 * Whether an outputs path names a declared SECRET output as far as save can tell (`outputs.<name>`,
 * `outputs.<target>.<name>`, or all outputs); the node starter checks the real values again.
 */
function reachesSecret(path: readonly string[], secret: ReadonlySet<string> | undefined): boolean {
  if (!secret?.size) return false
  return path.length === 0 || secret.has(path[0]!) || secret.has(path.at(-1)!)
}

function nodeOf(n: WorkflowNode): NodeInput {
  return {
    key: n.key,
    kind: n.kind,
    templateId: n.templateId,
    workflowId: n.subWorkflowId,
    parameters: n.parameters as NodeInput['parameters'],
    joinPolicy: n.joinPolicy,
    approval: n.approval as NodeInput['approval'],
    overrides: n.overrides as NodeInput['overrides'],
  }
}

async function writeGraph(tx: Prisma.TransactionClient, workflowId: string, nodes: NodeInput[], edges: EdgeInput[], replace = false): Promise<void> {
  if (replace) {
    await tx.workflowEdge.deleteMany({ where: { workflowId } })
    await tx.workflowNode.deleteMany({ where: { workflowId } })
  }
  await tx.workflowNode.createMany({
    data: nodes.map((n, position) => {
      const overrides = normalizeOverrides(n.overrides)
      return {
        workflowId,
        position,
        key: n.key,
        kind: n.kind,
        templateId: n.templateId ?? null,
        subWorkflowId: n.workflowId ?? null,
        parameters: n.parameters as Prisma.InputJsonValue,
        joinPolicy: n.joinPolicy,
        approval: n.approval ? (n.approval as Prisma.InputJsonValue) : Prisma.DbNull,
        overrides: overrides ? (overrides as Prisma.InputJsonValue) : Prisma.DbNull,
      }
    }),
  })
  if (edges.length) await tx.workflowEdge.createMany({ data: edges.map((e, position) => ({ workflowId, position, fromKey: e.from, toKey: e.to, kind: e.kind })) })
}

/** The audit trail shows the graph's size and whether it changed, not every node. */
function graphSummary(nodes: NodeInput[], edges: EdgeInput[], before?: WorkflowWithGraph) {
  const now = `${nodes.length} nodes, ${edges.length} edges`
  return before ? { graph: { old: `${before.nodes.length} nodes, ${before.edges.length} edges`, new: now } } : { graph: { new: now } }
}
