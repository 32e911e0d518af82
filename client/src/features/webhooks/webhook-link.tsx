import Link from 'next/link'

/** An inbound webhook endpoint, linked to the page that lists it (its template's or its workflow's). */
export function WebhookLink({ endpoint }: { endpoint: { name: string; template?: { id: string } | null; workflow?: { id: string } | null } }) {
  const href = endpoint.template ? `/templates/${endpoint.template.id}` : endpoint.workflow ? `/workflows/${endpoint.workflow.id}` : null
  return href ? <Link href={href}>{endpoint.name}</Link> : <>{endpoint.name}</>
}
