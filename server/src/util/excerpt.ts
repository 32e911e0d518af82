/**
 * Short, safe excerpts of text that came from a caller. Error messages and logs quote input back
 * (graphql-js echoes an invalid variable's value in full): they quote at most an excerpt, so a
 * megabyte of input never comes back in a response or lands in a log line.
 */

/** The first `max` UTF-16 units of `text`, never splitting a surrogate pair, plus "…" when cut. */
export function excerpt(text: string, max = 100): string {
  if (text.length <= max) return text
  let end = max
  // A high surrogate at the cut would leave half a character: invalid UTF-16 that Postgres and
  // JSON encoders reject (the audit trail failed whole saves on this).
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end -= 1
  return `${text.slice(0, end)}…`
}

/** Each double-quoted part of a message cut to an excerpt, and the whole message bounded. */
export function shortenEchoes(message: string, quoted = 100, total = 600): string {
  if (message.length <= quoted) return message
  const shortened = message.replace(/"((?:[^"\\]|\\[\s\S])*)"/g, (_m, inner: string) => `"${excerpt(inner, quoted)}"`)
  return excerpt(shortened, total)
}
