/**
 * A mark on a subscription event object promising that what GraphQL resolves from it does not depend
 * on who subscribed (no field under it reads the context), so the API may execute it once for every
 * subscriber of the same operation (graphql/shared-events.ts). Lives here so services can mark their
 * events without depending on the GraphQL layer.
 */
const SHARED = Symbol('switchyard.sharedEvent')

export function markShared<T extends object>(event: T): T {
  Object.defineProperty(event, SHARED, { value: true })
  return event
}

export function isShared(event: unknown): event is object {
  return typeof event === 'object' && event !== null && (event as Record<symbol, unknown>)[SHARED] === true
}
