/**
 * The UI is a static export (`output: 'export'`, written to out/ by `next build`): every page is a
 * client component talking to /graphql on its own origin, so no Next.js server is needed at run time.
 * The Switchyard server serves out/ itself (server/src/http/ui.ts); the detail routes (/runs/[id] …)
 * are exported for one placeholder id that the server answers every id with (src/lib/route-id.ts).
 *
 * `next dev` is a normal Next.js server instead (an export's dev server refuses ids that
 * generateStaticParams did not list): point it at a running Switchyard server with
 * NEXT_PUBLIC_SWITCHYARD_API_URL=http://127.0.0.1:4000.
 */
const PHASE_DEVELOPMENT_SERVER = 'phase-development-server' // next/constants, without importing next at config time

/** @type {(phase: string) => import('next').NextConfig} */
export default function nextConfig(phase) {
  return {
    output: phase === PHASE_DEVELOPMENT_SERVER ? undefined : 'export',
    reactStrictMode: true,
    poweredByHeader: false,
    devIndicators: false,
    // Never reach out to the network at build or run time.
    images: { unoptimized: true },
    typescript: { tsconfigPath: 'tsconfig.json' },
  }
}
