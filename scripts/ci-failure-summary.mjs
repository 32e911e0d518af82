#!/usr/bin/env node
// Prints, at the very end of a failed CI run, what failed: vitest's "Failed Tests" and "Unhandled
// Errors" sections and failed-file lines of every package, from the captured `npm test` output.
// CI shows only the tail of a long run (the e2e journeys run last), so without this a server
// failure's details scroll out of view.
import { readFileSync } from 'node:fs'

const file = process.argv[2]
const MAX_LINES = 150
const ansi = /\u001b\[[0-9;]*[A-Za-z]/g
const lines = readFileSync(file, 'utf8').replace(ansi, '').split('\n')

const picked = []
let inSection = false
for (const line of lines) {
  const text = line.replace(/^@switchyard\/[\w-]+:test: /, '')
  if (/⎯{3,} (Failed Tests|Unhandled Errors?|Failed Suites)/.test(text)) inSection = true
  else if (/^\s*Test Files\s/.test(text)) inSection = false
  if (inSection || /^\s*(FAIL|×|✗)\s/.test(text) || /ERROR\s+command .* exited/.test(line)) picked.push(line)
}

console.log('\n==== What failed (from the test output above) ====')
if (picked.length === 0) console.log('(no vitest failure section found; see the full output)')
for (const line of picked.slice(0, MAX_LINES)) console.log(line)
if (picked.length > MAX_LINES) console.log(`… ${picked.length - MAX_LINES} more lines`)
