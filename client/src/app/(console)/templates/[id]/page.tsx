'use client'
import { useParams } from 'next/navigation'
import { TemplateEditor } from '@/features/templates/template-editor'

export default function Page() {
  const { id } = useParams<{ id: string }>()
  return <TemplateEditor key={id} id={decodeURIComponent(id)} />
}
