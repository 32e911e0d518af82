/** schema.graphql is the printed Pothos schema; this fails when someone forgets to re-print it. */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../src/config.ts'
import { printSchemaSdl } from '../../src/graphql/schema.ts'

describe('schema.graphql', () => {
  it('matches the schema the server builds (run `npm run schema:print` after changing it)', () => {
    const checkedIn = fs.readFileSync(path.join(REPO_ROOT, 'schema.graphql'), 'utf8')
    expect(checkedIn).toBe(printSchemaSdl())
  })
})
