/**
 * What a channel sends for one notification: the exact HTTP body (signed webhook JSON, or the Slack /
 * Teams / Mattermost layout) or the email's subject, text and HTML. One function, used by delivery, the
 * preview and "send test", so what an admin previews is byte for byte what goes out.
 */
import { ValidationError } from '../../errors.ts'
import { mattermostBody, slackBody, teamsBody } from './chat-formats.ts'
import { messageContext, renderTemplate, type ChannelTemplates, type RunPayload } from './message-templates.ts'

export type ChannelKind = 'WEBHOOK' | 'EMAIL' | 'SLACK' | 'TEAMS' | 'MATTERMOST'

export interface ChannelShape extends ChannelTemplates {
  name: string
  kind: ChannelKind
}

export type OutgoingMessage =
  | { kind: 'http'; body: string }
  | { kind: 'email'; subject: string; text: string; html: string }

export interface MessageOptions {
  publicUrl: string | null
  deliveryId: string | null
  test?: boolean
  /** Prefix of error fields (`input.` when checking input, none at delivery). */
  fieldPrefix?: string
}

export async function buildMessage(channel: ChannelShape, payload: RunPayload, opts: MessageOptions): Promise<OutgoingMessage> {
  const ctx = messageContext(payload, { publicUrl: opts.publicUrl, deliveryId: opts.deliveryId, channelName: channel.name, test: opts.test })
  const p = opts.fieldPrefix ?? ''
  switch (channel.kind) {
    case 'WEBHOOK': {
      if (!channel.bodyTemplate) {
        // The documented default body: the frozen payload, plus the run page's absolute URL.
        return { kind: 'http', body: JSON.stringify({ deliveryId: opts.deliveryId, ...(opts.test ? { test: true } : {}), ...payload, run: payload.run ? { ...payload.run, url: ctx.run.url } : null }) }
      }
      const body = await renderTemplate('bodyTemplate', channel.bodyTemplate, ctx, `${p}bodyTemplate`)
      try {
        JSON.parse(body)
      } catch (e) {
        throw ValidationError.field(`${p}bodyTemplate`, `must render to JSON (use the json filter for strings, e.g. {{ run.error | json }}): ${(e as Error).message}`)
      }
      return { kind: 'http', body }
    }
    case 'EMAIL': {
      const subject = (await renderTemplate('subjectTemplate', channel.subjectTemplate, ctx, `${p}subjectTemplate`)).replace(/[\r\n]+/g, ' ').trim()
      const text = await renderTemplate('bodyTemplate', channel.bodyTemplate, ctx, `${p}bodyTemplate`)
      const html = await renderTemplate('htmlTemplate', channel.htmlTemplate, ctx, `${p}htmlTemplate`)
      return { kind: 'email', subject, text, html }
    }
    default: {
      const title = (await renderTemplate('subjectTemplate', channel.subjectTemplate, ctx, `${p}subjectTemplate`)).trim()
      // Chat cards show the facts themselves: the body template only adds text above them.
      const text = channel.bodyTemplate ? (await renderTemplate('bodyTemplate', channel.bodyTemplate, ctx, `${p}bodyTemplate`)).trim() || null : null
      const m = { title, text, ctx }
      const body = channel.kind === 'SLACK' ? slackBody(m) : channel.kind === 'TEAMS' ? teamsBody(m) : mattermostBody(m)
      return { kind: 'http', body: JSON.stringify(body) }
    }
  }
}
