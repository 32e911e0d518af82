import { describe, expect, it } from 'vitest'
import { parseStartScript, serverStartScript } from './start-script.ts'

describe("server/package.json's start script as the harnesses run it", () => {
  it('splits leading environment assignments from node and its arguments', () => {
    expect(parseStartScript('MALLOC_ARENA_MAX=2 A_B=x=y node --flag dist/main.js')).toEqual({ env: { MALLOC_ARENA_MAX: '2', A_B: 'x=y' }, args: ['--flag', 'dist/main.js'] })
    expect(parseStartScript('node dist/main.js')).toEqual({ env: {}, args: ['dist/main.js'] })
    expect(() => parseStartScript('tsx src/main.ts')).toThrow(/unexpected start script/)
  })

  it('is the one the product starts with: glibc arenas capped, big blocks unmapped when freed, V8 young generation capped, the build', () => {
    const start = serverStartScript()
    expect(start.env).toEqual({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' })
    expect(start.args).toEqual(['--enable-source-maps', '--max-semi-space-size=2', 'dist/main.js'])
  })
})
