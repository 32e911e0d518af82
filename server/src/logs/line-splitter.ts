/**
 * Turns a byte stream (SSH channel output arrives in arbitrary chunks) into text lines.
 *
 * - `\n` and `\r\n` end a line, also when the terminator is split across chunks.
 * - UTF-8 characters split across chunks are reassembled (StringDecoder keeps the partial bytes).
 * - A line longer than `maxLineBytes` is emitted in pieces of at most that many bytes, cut on character
 *   boundaries, so one runaway line (a binary dump, a progress bar without newlines) cannot grow memory
 *   or a single log row without bound.
 */
import { StringDecoder } from 'node:string_decoder'

export interface LineSplitter {
  push(chunk: Buffer): void
  /** Emits the last, unterminated line (if any). Call once, when the stream ends. */
  flush(): void
}

export interface LineSplitterOptions {
  maxLineBytes?: number
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024

export function createLineSplitter(onLine: (line: string) => void, options: LineSplitterOptions = {}): LineSplitter {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 4) {
    // Below 4 bytes a single UTF-8 character might not fit in a piece.
    throw new RangeError(`maxLineBytes must be an integer >= 4, got ${maxLineBytes}`)
  }
  const decoder = new StringDecoder('utf8')
  let pending = ''

  const emit = (line: string) => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line
    if (Buffer.byteLength(text) <= maxLineBytes) onLine(text)
    else for (const piece of splitByBytes(text, maxLineBytes)) onLine(piece)
  }

  /** Emits full-size pieces of an unterminated line as soon as they exist, keeping the remainder. */
  const trimPending = () => {
    // A trailing '\r' may be the first half of a '\r\n': it is not content, so it neither counts nor is cut.
    const cr = pending.endsWith('\r')
    const body = cr ? pending.slice(0, -1) : pending
    if (Buffer.byteLength(body) <= maxLineBytes) return
    const pieces = splitByBytes(body, maxLineBytes)
    pending = (pieces.pop() ?? '') + (cr ? '\r' : '')
    for (const piece of pieces) onLine(piece)
  }

  return {
    push(chunk: Buffer) {
      const text = decoder.write(chunk)
      if (text === '') return
      let start = 0
      let nl = text.indexOf('\n')
      if (nl !== -1) {
        emit(pending + text.slice(0, nl))
        pending = ''
        start = nl + 1
        while ((nl = text.indexOf('\n', start)) !== -1) {
          emit(text.slice(start, nl))
          start = nl + 1
        }
      }
      pending += text.slice(start)
      trimPending()
    },
    flush() {
      pending += decoder.end()
      if (pending !== '') emit(pending)
      pending = ''
    },
  }
}

/**
 * Splits text into pieces of at most `maxBytes` UTF-8 bytes without cutting a character in two. The last
 * piece may be shorter (and is never empty unless the input is).
 */
function splitByBytes(text: string, maxBytes: number): string[] {
  const bytes = Buffer.from(text, 'utf8')
  const pieces: string[] = []
  let start = 0
  while (bytes.length - start > maxBytes) {
    let end = start + maxBytes
    // Back off continuation bytes (10xxxxxx) so the cut lands on a character boundary.
    while (end > start && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
    pieces.push(bytes.toString('utf8', start, end))
    start = end
  }
  pieces.push(bytes.toString('utf8', start))
  return pieces
}
