/** The notification pages' GraphQL documents (channels, rules, the delivery log: admins only). */
import { graphql, type ResultOf } from '@/lib/graphql'

export const ChannelFields = graphql(`
  fragment NotificationChannelFields on NotificationChannel {
    id name kind url urlHost hasUrl headers updatedAt
    secretCredential { id name }
    secondarySecretCredential { id name }
    smtpHost smtpPort smtpSecurity smtpCaCertificate emailFrom emailTo
    smtpCredential { id name username }
    subjectTemplate bodyTemplate htmlTemplate
  }
`)
export type Channel = ResultOf<typeof ChannelFields>

export const RuleFields = graphql(`
  fragment NotificationRuleFields on NotificationRule {
    id name enabled events templateIds workflowIds scheduleIds tags updatedAt
    durationLimitSeconds durationP95Factor consecutiveFailures queueBacklogSeconds
    channels { id name }
  }
`)
export type Rule = ResultOf<typeof RuleFields>

export const NotificationsQuery = graphql(
  `query Notifications {
    notificationChannels { ...NotificationChannelFields }
    notificationRules { ...NotificationRuleFields }
    credentials { id name username kind canUse }
    jobTemplates { id name }
    workflows { id name }
    jobSchedules { id name }
  }`,
  [ChannelFields, RuleFields],
)
export type NotificationsData = ResultOf<typeof NotificationsQuery>
export type ChannelCredential = NotificationsData['credentials'][number]
export type TemplateOption = NotificationsData['jobTemplates'][number]
export type ScopeOption = { id: string; name: string }

export const CreateChannel = graphql(
  `mutation CreateNotificationChannel($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) { ...NotificationChannelFields } }`,
  [ChannelFields],
)
export const UpdateChannel = graphql(
  `mutation UpdateNotificationChannel($id: ID!, $input: UpdateNotificationChannelInput!) { updateNotificationChannel(id: $id, input: $input) { ...NotificationChannelFields } }`,
  [ChannelFields],
)
export const DeleteChannel = graphql(`mutation DeleteNotificationChannel($id: ID!) { deleteNotificationChannel(id: $id) }`)

export const CreateRule = graphql(
  `mutation CreateNotificationRule($input: CreateNotificationRuleInput!) { createNotificationRule(input: $input) { ...NotificationRuleFields } }`,
  [RuleFields],
)
export const UpdateRule = graphql(
  `mutation UpdateNotificationRule($id: ID!, $input: UpdateNotificationRuleInput!) { updateNotificationRule(id: $id, input: $input) { ...NotificationRuleFields } }`,
  [RuleFields],
)
export const DeleteRule = graphql(`mutation DeleteNotificationRule($id: ID!) { deleteNotificationRule(id: $id) }`)

export const DeliveriesQuery = graphql(`
  query NotificationDeliveries($first: Int, $jobRunId: ID) {
    notificationDeliveries(first: $first, jobRunId: $jobRunId) {
      id event status attempts lastStatusCode lastError createdAt updatedAt deliveredAt nextAttemptAt
      channel { id name }
      jobRun { id number templateName status }
      workflowRun { id number workflowName }
    }
    notificationChannels { id name }
  }
`)
export type Delivery = ResultOf<typeof DeliveriesQuery>['notificationDeliveries'][number]

/** Sends a delivered or failed notification again, as a new delivery (the log shows it at the top). */
export const RedeliverNotification = graphql(`mutation RedeliverNotification($id: ID!) { redeliverNotification(id: $id) { id status } }`)

/** Runs ending: each may have written deliveries (the outbox row commits with the run's final state). */
export const RunsEnding = graphql(`subscription NotificationRunsChanged { jobRunsChanged { id status updatedAt } }`)

/** One channel's page: the channel (from the list: there is no single-channel query), credentials, recent runs. */
export const ChannelPageQuery = graphql(
  `query NotificationChannelPage {
    notificationChannels { ...NotificationChannelFields }
    credentials { id name username kind canUse }
    jobRuns(first: 20) { edges { node { id number templateName status createdAt } } }
  }`,
  [ChannelFields],
)
export type RecentRun = ResultOf<typeof ChannelPageQuery>['jobRuns']['edges'][number]['node']

/** What the channel would send, rendered by the server exactly as delivery does (unsaved templates allowed). */
export const NotificationPreviewQuery = graphql(`
  query NotificationPreview($channelId: ID!, $jobRunId: ID, $event: NotificationEvent, $templates: NotificationTemplatesInput) {
    notificationPreview(channelId: $channelId, jobRunId: $jobRunId, event: $event, templates: $templates) { event subject text html body }
  }
`)
export type Preview = ResultOf<typeof NotificationPreviewQuery>['notificationPreview']

export const SendTestNotification = graphql(`
  mutation SendTestNotification($channelId: ID!, $jobRunId: ID, $event: NotificationEvent) {
    sendTestNotification(channelId: $channelId, jobRunId: $jobRunId, event: $event) { ok statusCode error response retryable }
  }
`)

export const AddChannelSecret = graphql(
  `mutation AddNotificationChannelSecret($id: ID!, $secretCredentialId: ID!) { addNotificationChannelSecret(id: $id, secretCredentialId: $secretCredentialId) { ...NotificationChannelFields } }`,
  [ChannelFields],
)
export const RetireChannelSecret = graphql(
  `mutation RetireNotificationChannelSecret($id: ID!, $secretCredentialId: ID!) { retireNotificationChannelSecret(id: $id, secretCredentialId: $secretCredentialId) { ...NotificationChannelFields } }`,
  [ChannelFields],
)
