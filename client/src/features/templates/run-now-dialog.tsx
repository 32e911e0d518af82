'use client'
/** "Run now": asks for the template's parameter values, triggers a run and opens it. */
import { useMutation } from 'urql'
import { RunParametersDialog } from '@/components/run-parameters-dialog'
import type { ParameterDefinition } from '@/lib/parameters'
import { TriggerRunMutation } from './queries'

export function RunNowDialog({ template, onClose }: { template: { id: string; name: string; parameters: readonly ParameterDefinition[] }; onClose(): void }) {
  const [state, trigger] = useMutation(TriggerRunMutation)
  return (
    <RunParametersDialog
      name={template.name}
      parameters={template.parameters}
      submitLabel="Run now"
      empty="This template has no parameters. The run starts on the template’s targets."
      busy={state.fetching}
      onClose={onClose}
      start={async (parameters) => {
        const r = await trigger({ templateId: template.id, parameters })
        return r.data ? { href: `/runs/${r.data.triggerJobRun.id}` } : { error: r.error }
      }}
    />
  )
}
