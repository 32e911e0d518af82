import { graphql, type ResultOf } from '@/lib/graphql'

export const JobTypesQuery = graphql(`
  query JobTypes {
    jobTypes { type label description usesTargets configSchema }
  }
`)
export type JobType = ResultOf<typeof JobTypesQuery>['jobTypes'][number]

export const TemplateFields = graphql(`
  fragment TemplateFields on JobTemplate {
    id
    name
    description
    tags
    jobType
    config
    visibility
    timeoutSeconds
    retryMaxAttempts
    retryDelaySeconds
    retryBackoff
    maxParallelTargets
    maxConcurrentRuns
    logLimitLines
    logLimitBytes
    overlapPolicy
    successThreshold
    schedules { id name summary active nextRunAt }
    updatedAt
    owner { id username }
    parameters { name type label description required default choices }
    outputs { name kind description }
    targetSelector {
      tags
      namePatterns
      targets { id name }
      inventories { id name }
    }
  }
`)
export type Template = ResultOf<typeof TemplateFields>
export type ParameterDefinition = Template['parameters'][number]

export const TemplatesQuery = graphql(
  `
  query Templates($search: String, $jobTypes: [String!]) {
    jobTemplates(search: $search, jobTypes: $jobTypes) { ...TemplateFields }
  }
`,
  [TemplateFields],
)

export const TemplateQuery = graphql(
  `
  query Template($id: ID!) {
    jobTemplate(id: $id) { ...TemplateFields }
  }
`,
  [TemplateFields],
)

export const TemplateFormOptionsQuery = graphql(`
  query TemplateFormOptions {
    jobTypes { type label description usesTargets executesWorkerCode publishesOutputs canAuthor authorRefusal configSchema }
    targets { id name host tags }
    inventories { id name }
    credentials { id name kind username canUse }
    inventorySources { id name }
  }
`)

export const CreateTemplateMutation = graphql(
  `
  mutation CreateTemplate($input: CreateJobTemplateInput!) {
    createJobTemplate(input: $input) { ...TemplateFields }
  }
`,
  [TemplateFields],
)

export const UpdateTemplateMutation = graphql(
  `
  mutation UpdateTemplate($id: ID!, $input: UpdateJobTemplateInput!) {
    updateJobTemplate(id: $id, input: $input) { ...TemplateFields }
  }
`,
  [TemplateFields],
)

export const DeleteTemplateMutation = graphql(`
  mutation DeleteTemplate($id: ID!) { deleteJobTemplate(id: $id) }
`)

export const TriggerRunMutation = graphql(`
  mutation TriggerRun($templateId: ID!, $parameters: JSON) {
    triggerJobRun(templateId: $templateId, parameters: $parameters) { id number status }
  }
`)
