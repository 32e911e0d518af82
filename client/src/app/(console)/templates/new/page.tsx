'use client'
import { TemplateEditor } from '@/features/templates/template-editor'

export default function Page() {
  return <TemplateEditor id={null} />
}
