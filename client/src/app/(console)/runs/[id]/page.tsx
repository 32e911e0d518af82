import { placeholderParams } from '@/lib/route-id'
import { ClientPage } from './client-page'

// Exported once, for a placeholder id: the server answers every id with it (see lib/route-id.ts).
// (Under `next dev`, which is no export, any id renders.)
export const generateStaticParams = placeholderParams

export default function Page() {
  return <ClientPage />
}
