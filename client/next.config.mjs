/**
 * The UI is served by the Switchyard server itself (server/src/http/ui.ts runs this app's request
 * handler for every path that is not the API), so it talks to /graphql on the same origin. For
 * `next dev`, point it at a running server with NEXT_PUBLIC_SWITCHYARD_API_URL=http://127.0.0.1:4000.
 */
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  devIndicators: false,
  // Never reach out to the network at build or run time.
  images: { unoptimized: true },
  typescript: { tsconfigPath: 'tsconfig.json' },
}

export default nextConfig
