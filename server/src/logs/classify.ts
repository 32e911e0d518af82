/**
 * Level of an output line. Most tools don't tag their output, so this looks for the words operators
 * scan for; stderr without such words is a WARNING (it is where tools put diagnostics), stdout INFO.
 */
import type { LogLevel, OutputStream } from '../jobs/executors/types.ts'

const ERROR = /\b(error|err|fatal|failed|failure|panic|critical|exception|denied|unreachable|traceback)\b/i
const WARNING = /\b(warn|warning|deprecated|retrying)\b/i
const DEBUG = /^\s*(debug|trace)\b[:\]]?/i

export function classifyLine(stream: OutputStream, text: string): LogLevel {
  if (ERROR.test(text)) return 'ERROR'
  if (WARNING.test(text)) return 'WARNING'
  if (DEBUG.test(text)) return 'DEBUG'
  return stream === 'STDERR' ? 'WARNING' : 'INFO'
}
