import { builder } from '../builder.ts'

export const RoleEnum = builder.enumType('Role', { values: ['ADMIN', 'OPERATOR', 'VIEWER'] as const })
export const VisibilityEnum = builder.enumType('Visibility', {
  description: 'GLOBAL: everyone can see and run it. PRIVATE: only its owner.',
  values: ['GLOBAL', 'PRIVATE'] as const,
})
export const CredentialKindEnum = builder.enumType('CredentialKind', { values: ['PASSWORD', 'PRIVATE_KEY'] as const })
export const RunStatusEnum = builder.enumType('RunStatus', {
  description: 'QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED | TIMED_OUT. MISSED and SKIPPED record schedule slots that did not run.',
  values: ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'] as const,
})
export const RunTriggerEnum = builder.enumType('RunTrigger', {
  description: 'DEPENDENCY: started because a run of another template ended (see JobRun.triggeredByRun). WEBHOOK: started by a call to an inbound webhook endpoint (see webhookEndpoint).',
  values: ['MANUAL', 'API', 'SCHEDULE', 'RETRY', 'WORKFLOW', 'DEPENDENCY', 'WEBHOOK'] as const,
})
export const TargetStatusEnum = builder.enumType('TargetStatus', {
  values: ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED'] as const,
})
export const LogLevelEnum = builder.enumType('LogLevel', { values: ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const })
export const LogStreamEnum = builder.enumType('LogStream', { values: ['STDOUT', 'STDERR', 'SYSTEM'] as const })
export const RetryBackoffEnum = builder.enumType('RetryBackoff', { values: ['FIXED', 'EXPONENTIAL'] as const })
export const ParameterTypeEnum = builder.enumType('ParameterType', { values: ['STRING', 'INT', 'BOOL', 'CHOICE', 'SECRET'] as const })
export const OutputKindEnum = builder.enumType('OutputKind', {
  description: 'How a declared step output is checked and shown: SECRET values are masked everywhere and may only go into SECRET parameters.',
  values: ['STRING', 'NUMBER', 'BOOL', 'JSON', 'SECRET'] as const,
})
