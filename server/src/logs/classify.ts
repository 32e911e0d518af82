/**
 * Level of an output line. Most tools don't tag their output, so this looks for the words operators
 * scan for; stderr without such words is a WARNING (it is where tools put diagnostics), stdout INFO.
 * Counts of nothing ("failed=0", "0 errors", "no warnings") are not problems: a successful Ansible
 * recap or test summary stays INFO.
 */
import type { LogLevel, OutputStream } from '../jobs/executors/types.ts'

const ERROR = /\b(errors?|err|fatal|failed|failures?|panic|critical|exceptions?|denied|unreachable|traceback)\b/i
const WARNING = /\b(warn|warnings?|deprecated|retrying)\b/i
/** Exception and warning class names: ValueError, NullPointerException, DeprecationWarning. */
const ERROR_CLASS = /[a-z](Error|Exception)\b/
const WARNING_CLASS = /[a-z]Warning\b/
const DEBUG = /^\s*\[?(debug|trace)\b[:\]]?/i
/** "failed=0", "errors: 0", "0 errors", "no warnings", "without errors". */
const NOTHING = /\b(?:0|no|zero|without)\s+[a-z]+\b|\b[a-z]+\s*[=:]\s*0+(?![\w.])/gi

export function classifyLine(stream: OutputStream, text: string): LogLevel {
  // Blanking out counts of nothing costs a new string per line, so it is done only for the few lines
  // that name a problem at all. Same result: the blanked text can match ERROR or WARNING only where
  // the text itself does — a count of nothing starts and ends next to a non-word character, so a
  // blank in its place creates no new word boundary and no new `[a-z]Error`.
  if (ERROR.test(text) || ERROR_CLASS.test(text) || WARNING.test(text) || WARNING_CLASS.test(text)) {
    const words = text.replace(NOTHING, ' ')
    if (ERROR.test(words) || ERROR_CLASS.test(words)) return 'ERROR'
    if (WARNING.test(words) || WARNING_CLASS.test(words)) return 'WARNING'
  }
  if (DEBUG.test(text)) return 'DEBUG'
  return stream === 'STDERR' ? 'WARNING' : 'INFO'
}
