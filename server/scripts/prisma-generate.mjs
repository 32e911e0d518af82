// Runs `prisma generate` for the client and Pothos types.
// Generation never uses Prisma's schema engine, but the CLI insists on locating one and tries to
// download it; where no binary is available (offline machines) any executable satisfies the check.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const env = { ...process.env, PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' }
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath
const prismaBin = path.join(root, 'node_modules', 'prisma', 'build', 'index.js')
const result = spawnSync(process.execPath, [prismaBin, 'generate', '--schema', path.join(root, 'prisma', 'schema.prisma')], {
  cwd: root,
  env,
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
