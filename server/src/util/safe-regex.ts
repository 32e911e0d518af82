/**
 * Regular expressions from users (http body checks, config_backup strip patterns, target name
 * globs) run on V8's linear-time engine (the `l` flag): a pattern such as `^(a+)+$` cannot stall the
 * event loop, whatever the input. The engine is enabled by a V8 flag, set here once when this module
 * is first imported — every process that compiles a user pattern imports it (server, worker
 * processes, test workers alike), and it must be set before the first `l` regex is parsed.
 *
 * The linear engine has no backreferences, lookaheads, case-insensitive or unicode mode, and no
 * large counted repetitions (`a{1,1000}`): such patterns are refused with a clear message when they
 * are saved, instead of being run on the backtracking engine.
 */
import v8 from 'node:v8'

v8.setFlagsFromString('--enable-experimental-regexp-engine')

export const LINEAR_TIME_RULES =
  'cannot be evaluated in linear time (backreferences, lookaheads, case-insensitive or unicode mode and large counted repetitions are not supported)'

/** Compiles a user pattern for the linear-time engine; throws a plain Error with a message for users. */
export function compileUserRegex(source: string, flags = ''): RegExp {
  try {
    return new RegExp(source, flags + 'l')
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    if (/linear time/i.test(message)) throw new Error(LINEAR_TIME_RULES)
    throw new Error(`not a valid regular expression: ${message.replace(/^Invalid regular expression: /, '')}`)
  }
}

/** Why a user pattern cannot be used (for validation at save), or null when it can. */
export function userRegexProblem(source: string, flags = ''): string | null {
  try {
    compileUserRegex(source, flags)
    return null
  } catch (e) {
    return (e as Error).message
  }
}
