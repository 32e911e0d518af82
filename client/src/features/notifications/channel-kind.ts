/**
 * What one channel kind brings to the channel form: the fields it shows (the API's names, so errors for
 * them land under them), how they start from a saved channel, what they add to the API's input, and the
 * section that edits them. channel-form.tsx lists the kinds.
 */
import type { ReactNode } from 'react'
import type { Channel, ChannelCredential } from './queries'

export type Draft = Record<string, unknown>

export interface SectionProps {
  channel: Channel | null
  draft: Draft
  set(patch: Draft): void
  err(field: string): string | undefined
  credentials: readonly ChannelCredential[]
}

export interface ChannelKind {
  value: string
  label: string
  fields: readonly string[]
  initial(channel: Channel | null, credentials: readonly ChannelCredential[]): Draft
  /** The kind's part of the API input, or field problems to show first. */
  input(draft: Draft): { input: Record<string, unknown>; errors: Record<string, string> }
  Section(props: SectionProps): ReactNode
}
