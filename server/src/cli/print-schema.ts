/** `npm run schema:print`: writes the SDL printed from the Pothos schema to /schema.graphql. */
import fs from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../config.ts'
import { printSchemaSdl } from '../graphql/schema.ts'

const file = path.join(REPO_ROOT, 'schema.graphql')
fs.writeFileSync(file, printSchemaSdl())
process.stdout.write(`wrote ${path.relative(process.cwd(), file) || file}\n`)
