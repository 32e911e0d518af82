// Prisma CLI configuration (Prisma 7 reads the datasource URL from here, not from schema.prisma).
// The server never uses the CLI at run time: it applies prisma/migrations itself on start.
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/switchyard' },
})
