/**
 * A small structured logger: one line per event, level-filtered, as text (`time LEVEL msg key=value…`,
 * the default) or as one JSON object per line for log shippers (SWITCHYARD_LOG_FORMAT=json:
 * `{"time","level","msg","component"?, …fields}`). Callers pass fields explicitly, which keeps secrets
 * out by construction (nothing dumps whole objects).
 */
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'text' | 'json'
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

/** The keys every JSON line starts with; a field of the same name is written with a trailing `_`. */
const RESERVED = new Set(['time', 'level', 'msg'])

/**
 * One JSON object: time, level, msg, then the fields in the order given (component, from `child`,
 * comes first among them). Built by hand so the key order is stable and a field cannot replace
 * time/level/msg. JSON.stringify escapes newlines, so a multi-line message stays one line.
 */
export function formatJson(time: string, level: LogLevelName, msg: string, fields: LogFields): string {
  let out = `{"time":${JSON.stringify(time)},"level":"${level}","msg":${JSON.stringify(msg)}`
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue
    const key = RESERVED.has(k) ? `${k}_` : k
    out += `,${JSON.stringify(key)}:${typeof v === 'number' && !Number.isFinite(v) ? JSON.stringify(String(v)) : JSON.stringify(v)}`
  }
  return out + '}'
}

export function createLogger(
  level: LogLevelName,
  base: LogFields = {},
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  logFormat: LogFormat = 'text',
): Logger {
  const min = ORDER[level]
  const emit = (lvl: LogLevelName, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return
    const time = new Date().toISOString()
    write(logFormat === 'json' ? formatJson(time, lvl, msg, { ...base, ...fields }) : `${time} ${lvl.toUpperCase().padEnd(5)} ${msg}${format({ ...base, ...fields })}`)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write, logFormat),
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger }
