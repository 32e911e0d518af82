/**
 * Expected failures, with a stable `code` and (for input problems) the field they concern. Services
 * throw these; the GraphQL layer turns them into typed errors (extensions.code/field/fields) and
 * masks everything else, so clients never see a stack trace or an internal message.
 */
export type ErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND' | 'FORBIDDEN' | 'UNAUTHENTICATED' | 'CONFLICT' | 'INVALID_STATE' | 'RATE_LIMITED' | 'SOURCE_UNAVAILABLE'

export interface FieldProblem {
  /** Dotted path from the mutation's arguments, e.g. `input.port` or `input.config.commands.0`. */
  field: string
  message: string
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldProblem[] = [],
    /** Further machine-readable details for `extensions` (e.g. `retryAfterSeconds`). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
    this.name = 'DomainError'
  }
}

export class ValidationError extends DomainError {
  constructor(fields: FieldProblem[]) {
    super('BAD_USER_INPUT', fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields)
    this.name = 'ValidationError'
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }])
  }
}

export class NotFoundError extends DomainError {
  constructor(entity: string, field = 'id') {
    super('NOT_FOUND', `${entity} not found`, [{ field, message: `${entity} not found` }])
    this.name = 'NotFoundError'
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string, fields: FieldProblem[] = []) {
    super('FORBIDDEN', message, fields)
    this.name = 'ForbiddenError'
  }
  /** Not allowed because of what these input fields name (e.g. a credential you may not use). */
  static fields(fields: FieldProblem[]): ForbiddenError {
    return new ForbiddenError(fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields)
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'authentication required: send `Authorization: Bearer <token>`') {
    super('UNAUTHENTICATED', message)
    this.name = 'UnauthenticatedError'
  }
}

export class ConflictError extends DomainError {
  constructor(field: string, message: string) {
    super('CONFLICT', message, [{ field, message }])
    this.name = 'ConflictError'
  }
}

export class InvalidStateError extends DomainError {
  constructor(message: string) {
    super('INVALID_STATE', message)
    this.name = 'InvalidStateError'
  }
}

/** Too many attempts (sign-in throttling): try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(message: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', message, [], { retryAfterSeconds })
    this.name = 'RateLimitedError'
  }
}

/** Prisma's unique-constraint violation (P2002) as a ConflictError on the given field. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'P2002'
}

/** Runs a write; a unique-name violation becomes a ConflictError on `input.name` ("a <what> named … already exists"). */
export async function withUniqueName<T>(what: string, name: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError('input.name', `a ${what} named "${name}" already exists`)
    throw e
  }
}
