import { graphql, type ResultOf } from '@/lib/graphql'

export const WebhookEndpointFields = graphql(`
  fragment WebhookEndpointFields on WebhookEndpoint {
    id
    name
    enabled
    parameterMapping
    rateLimitPerMinute
    maxBodyBytes
    replayWindowSeconds
    lastCalledAt
    createdAt
    updatedAt
    owner { id username }
    secretCredential { id name }
    template { id name }
    workflow { id name }
    recentCalls {
      receivedAt
      outcome
      httpStatus
      reason
      deliveryId
      jobRun { id number status }
      workflowRun { id number status }
    }
  }
`)
export type WebhookEndpoint = ResultOf<typeof WebhookEndpointFields>
export type WebhookCall = WebhookEndpoint['recentCalls'][number]

export const WebhookEndpointsQuery = graphql(
  `
  query WebhookEndpoints($templateId: ID, $workflowId: ID) {
    webhookEndpoints(templateId: $templateId, workflowId: $workflowId) { ...WebhookEndpointFields }
    credentials { id name kind canUse }
  }
`,
  [WebhookEndpointFields],
)

export const CreateWebhookEndpoint = graphql(
  `
  mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { token path endpoint { ...WebhookEndpointFields } }
  }
`,
  [WebhookEndpointFields],
)

export const UpdateWebhookEndpoint = graphql(
  `
  mutation UpdateWebhookEndpoint($id: ID!, $input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(id: $id, input: $input) { ...WebhookEndpointFields }
  }
`,
  [WebhookEndpointFields],
)

export const RotateWebhookEndpointToken = graphql(
  `
  mutation RotateWebhookEndpointToken($id: ID!) {
    rotateWebhookEndpointToken(id: $id) { token path endpoint { ...WebhookEndpointFields } }
  }
`,
  [WebhookEndpointFields],
)

export const DeleteWebhookEndpoint = graphql(`
  mutation DeleteWebhookEndpoint($id: ID!) { deleteWebhookEndpoint(id: $id) }
`)
