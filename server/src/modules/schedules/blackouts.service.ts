/**
 * Blackout windows: named periods during which linked schedules do not fire. Anyone may link any window
 * to their schedules; only its owner or an admin changes or deletes it (a window silences, or by its
 * removal un-silences, every schedule linked to it — other people's included).
 */
import { z } from 'zod'
import type { BlackoutWindow, PrismaClient } from '../../generated/prisma/client.ts'
import { ConflictError, NotFoundError, ValidationError, isUniqueViolation, type FieldProblem } from '../../errors.ts'
import type { Blackout } from '../../schedules/blackout.ts'
import { isValidTimeZone } from '../../schedules/timezone.ts'
import { requireActor, requireCanEdit, requireWriter, type Actor } from '../actor.ts'
import { audited, entity } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { parseInput, parsePatch } from '../validation.ts'

const fields = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  description: z.string().max(2000).default(''),
  kind: z.enum(['ABSOLUTE', 'RECURRING']),
  timezone: z.string().trim().min(1).optional(),
  startAt: z.date().nullish(),
  endAt: z.date().nullish(),
  daysOfWeek: z.array(z.number().int().min(0).max(6)).max(7).default([]),
  startTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00-23:59)').nullish(),
  durationMinutes: z.number().int().min(1, 'at least 1 minute').max(7 * 24 * 60, 'at most 7 days').nullish(),
})

const AUDITED_FIELDS = Object.keys(fields.shape)

export function toBlackout(row: BlackoutWindow): Blackout {
  return row.kind === 'ABSOLUTE'
    ? { name: row.name, kind: 'ABSOLUTE', startAt: row.startAt!, endAt: row.endAt! }
    : { name: row.name, kind: 'RECURRING', timezone: row.timezone, daysOfWeek: row.daysOfWeek, startTime: row.startTime!, durationMinutes: row.durationMinutes! }
}

export class BlackoutsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly defaultTimezone: string,
  ) {}

  list(actor: Actor | null): Promise<BlackoutWindow[]> {
    requireActor(actor)
    return this.prisma.blackoutWindow.findMany({ orderBy: { name: 'asc' } })
  }

  async get(actor: Actor | null, id: string): Promise<BlackoutWindow> {
    requireActor(actor)
    const row = await this.prisma.blackoutWindow.findUnique({ where: { id } })
    if (!row) throw new NotFoundError('blackout window')
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<BlackoutWindow> {
    const a = requireWriter(actor)
    const data = this.validate(raw, null)
    try {
      return await audited(
        this.prisma,
        (tx) => tx.blackoutWindow.create({ data: { ...data, ownerId: a.userId } }),
        (row) => ({ actor: a, action: 'blackout.create', entity: entity.of('BlackoutWindow', row), changes: created(row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `a blackout window named "${data.name}" already exists`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<BlackoutWindow> {
    requireWriter(actor)
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'blackout window')
    const data = this.validate(raw, existing)
    try {
      return await audited(
        this.prisma,
        (tx) => tx.blackoutWindow.update({ where: { id }, data }),
        (row) => ({ actor: a, action: 'blackout.update', entity: entity.of('BlackoutWindow', row), changes: changed(existing, row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `a blackout window named "${data.name}" already exists`)
      throw e
    }
  }

  async delete(actor: Actor | null, id: string): Promise<BlackoutWindow> {
    requireWriter(actor)
    const a = requireCanEdit(actor, await this.get(actor, id), 'blackout window')
    return audited(
      this.prisma,
      (tx) => tx.blackoutWindow.delete({ where: { id } }),
      (row) => ({ actor: a, action: 'blackout.delete', entity: entity.of('BlackoutWindow', row) }),
    )
  }

  private validate(raw: unknown, existing: BlackoutWindow | null) {
    // An update takes only the given fields (a partial schema would still fill in defaults and wipe
    // the description and days of an edited window).
    const i: Partial<z.output<typeof fields>> = existing ? parsePatch(fields, raw) : parseInput(fields, raw)
    const merged = {
      name: i.name ?? existing!.name,
      description: i.description ?? existing?.description ?? '',
      kind: i.kind ?? existing!.kind,
      timezone: i.timezone ?? existing?.timezone ?? this.defaultTimezone,
      startAt: i.startAt !== undefined ? i.startAt : existing?.startAt ?? null,
      endAt: i.endAt !== undefined ? i.endAt : existing?.endAt ?? null,
      daysOfWeek: [...new Set(i.daysOfWeek ?? existing?.daysOfWeek ?? [])].sort(),
      startTime: i.startTime !== undefined ? i.startTime : existing?.startTime ?? null,
      durationMinutes: i.durationMinutes !== undefined ? i.durationMinutes : existing?.durationMinutes ?? null,
    }
    const problems: FieldProblem[] = []
    if (!isValidTimeZone(merged.timezone)) problems.push({ field: 'input.timezone', message: `unknown IANA timezone "${merged.timezone}"` })
    if (merged.kind === 'ABSOLUTE') {
      if (!merged.startAt) problems.push({ field: 'input.startAt', message: 'required for an ABSOLUTE window' })
      if (!merged.endAt) problems.push({ field: 'input.endAt', message: 'required for an ABSOLUTE window' })
      if (merged.startAt && merged.endAt && merged.endAt <= merged.startAt) problems.push({ field: 'input.endAt', message: 'must be after startAt' })
    } else {
      if (!merged.startTime) problems.push({ field: 'input.startTime', message: 'required for a RECURRING window' })
      if (!merged.durationMinutes) problems.push({ field: 'input.durationMinutes', message: 'required for a RECURRING window' })
    }
    if (problems.length) throw new ValidationError(problems)
    return merged.kind === 'ABSOLUTE' ? { ...merged, daysOfWeek: [], startTime: null, durationMinutes: null } : { ...merged, startAt: null, endAt: null }
  }
}
