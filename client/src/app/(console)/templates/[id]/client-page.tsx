'use client'
import { TemplateEditor } from '@/features/templates/template-editor'
import { useRouteId } from '@/lib/use-route-id'

export function ClientPage() {
  const id = useRouteId()
  return <TemplateEditor key={id} id={id} />
}
