/**
 * The UI is a static export (`output: 'export'`, written to out/): every page is a client component
 * talking to /graphql on its own origin, so no Next.js server is needed at run time. The Switchyard
 * server serves out/ itself (server/src/http/static-ui.ts); the detail routes (/runs/[id] …) are
 * exported for one placeholder id that the server answers every id with (src/lib/route-id.ts).
 * For `next dev`, point it at a running server with NEXT_PUBLIC_SWITCHYARD_API_URL=http://127.0.0.1:4000.
 */
/** @type {import('next').NextConfig} */
const nextConfig = {
  output: 'export',
  reactStrictMode: true,
  poweredByHeader: false,
  devIndicators: false,
  // Never reach out to the network at build or run time.
  images: { unoptimized: true },
  typescript: { tsconfigPath: 'tsconfig.json' },
}

export default nextConfig
