/**
 * A small structured logger: one line per event, `key=value` fields, level-filtered. Callers pass
 * fields explicitly, which keeps secrets out by construction (nothing dumps whole objects).
 */
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<LogLevelName, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type LogFields = Record<string, string | number | boolean | null | undefined>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

function format(fields: LogFields): string {
  let out = ''
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue
    const s = String(v)
    out += ` ${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`
  }
  return out
}

export function createLogger(level: LogLevelName, base: LogFields = {}, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = ORDER[level]
  const emit = (lvl: LogLevelName, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return
    write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${format({ ...base, ...fields })}`)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger }
