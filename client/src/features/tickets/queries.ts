/** The tickets' GraphQL documents: trackers and auto-ticket rules (admins), a run's tickets and the "Create ticket" dialog. */
import { graphql, type ResultOf } from '@/lib/graphql'

export const TrackerFields = graphql(`
  fragment TicketTrackerFields on TicketTracker {
    id name kind url project redmineTrackerId closedStatusId updatedAt
    credential { id name }
  }
`)
export type Tracker = ResultOf<typeof TrackerFields>

export const TicketRuleFields = graphql(`
  fragment TicketRuleFields on TicketRule {
    id name enabled trigger consecutiveFailures priority closeOnRecovery templateIds updatedAt
    tracker { id name }
  }
`)
export type TicketRule = ResultOf<typeof TicketRuleFields>

export const TicketsAdminQuery = graphql(
  `query TicketsAdmin {
    ticketTrackers { ...TicketTrackerFields }
    ticketRules { ...TicketRuleFields }
    credentials { id name username kind canUse }
    jobTemplates { id name }
  }`,
  [TrackerFields, TicketRuleFields],
)
export type TicketsAdminData = ResultOf<typeof TicketsAdminQuery>

export const CreateTracker = graphql(
  `mutation CreateTicketTracker($input: CreateTicketTrackerInput!) { createTicketTracker(input: $input) { ...TicketTrackerFields } }`,
  [TrackerFields],
)
export const UpdateTracker = graphql(
  `mutation UpdateTicketTracker($id: ID!, $input: UpdateTicketTrackerInput!) { updateTicketTracker(id: $id, input: $input) { ...TicketTrackerFields } }`,
  [TrackerFields],
)
export const DeleteTracker = graphql(`mutation DeleteTicketTracker($id: ID!) { deleteTicketTracker(id: $id) }`)

export const CreateTicketRule = graphql(
  `mutation CreateTicketRule($input: CreateTicketRuleInput!) { createTicketRule(input: $input) { ...TicketRuleFields } }`,
  [TicketRuleFields],
)
export const UpdateTicketRule = graphql(
  `mutation UpdateTicketRule($id: ID!, $input: UpdateTicketRuleInput!) { updateTicketRule(id: $id, input: $input) { ...TicketRuleFields } }`,
  [TicketRuleFields],
)
export const DeleteTicketRule = graphql(`mutation DeleteTicketRule($id: ID!) { deleteTicketRule(id: $id) }`)

export const TicketFields = graphql(`
  fragment TicketFields on Ticket {
    id externalId url title priority status createdAt
    tracker { id name kind }
    actions { id kind status attempts lastError }
  }
`)
export type Ticket = ResultOf<typeof TicketFields>

export const RunTicketsQuery = graphql(
  `query RunTickets($id: ID!) {
    jobRun(id: $id) { id tickets { ...TicketFields } }
  }`,
  [TicketFields],
)

export const TicketDialogQuery = graphql(`
  query TicketDialog($jobRunId: ID!) {
    ticketDraft(jobRunId: $jobRunId) { title description priority }
    ticketTrackers { id name kind }
  }
`)

export const CreateTicketMutation = graphql(
  `mutation CreateTicket($input: CreateTicketInput!) { createTicket(input: $input) { ...TicketFields } }`,
  [TicketFields],
)
export const CloseTicketMutation = graphql(`mutation CloseTicket($id: ID!) { closeTicket(id: $id) { id status } }`)
export const ReopenTicketMutation = graphql(`mutation ReopenTicket($id: ID!) { reopenTicket(id: $id) { id status } }`)
export const CommentTicketMutation = graphql(
  `mutation CommentTicket($id: ID!, $body: String!) { commentTicket(id: $id, body: $body) { ...TicketFields } }`,
  [TicketFields],
)

export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const
export const priorityLabel = (p: string) => p.charAt(0) + p.slice(1).toLowerCase()
