import { usePathname } from 'next/navigation'
import { idFromPathname } from './route-id'

/** The id of a detail page (/runs/<id> …) from the address bar; see route-id.ts for why not useParams. */
export function useRouteId(): string {
  return idFromPathname(usePathname())
}
