/** The notification pages' GraphQL documents (channels, rules, the delivery log: admins only). */
import { graphql, type ResultOf } from '@/lib/graphql'

export const ChannelFields = graphql(`
  fragment NotificationChannelFields on NotificationChannel {
    id name kind url headers updatedAt
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
    id name enabled events templateIds updatedAt
    durationLimitSeconds durationP95Factor consecutiveFailures
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
  }`,
  [ChannelFields, RuleFields],
)
export type NotificationsData = ResultOf<typeof NotificationsQuery>
export type ChannelCredential = NotificationsData['credentials'][number]
export type TemplateOption = NotificationsData['jobTemplates'][number]

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
    }
    notificationChannels { id name }
  }
`)
export type Delivery = ResultOf<typeof DeliveriesQuery>['notificationDeliveries'][number]

/** Sends a delivered or failed notification again, as a new delivery (the log shows it at the top). */
export const RedeliverNotification = graphql(`mutation RedeliverNotification($id: ID!) { redeliverNotification(id: $id) { id status } }`)

/** Runs ending: each may have written deliveries (the outbox row commits with the run's final state). */
export const RunsEnding = graphql(`subscription NotificationRunsChanged { jobRunsChanged { id status updatedAt } }`)
