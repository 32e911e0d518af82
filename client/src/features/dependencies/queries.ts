import { graphql, type ResultOf } from '@/lib/graphql'

export const TemplateDependencyFields = graphql(`
  fragment TemplateDependencyFields on TemplateDependency {
    id
    enabled
    onStatuses
    parameters
    updatedAt
    owner { id username }
    upstream { id name }
    downstream { id name parameters { name type label description required default choices } }
    recentTriggers {
      createdAt
      handledAt
      status
      reason
      upstreamRun { id number status }
      run { id number status }
    }
  }
`)
export type TemplateDependency = ResultOf<typeof TemplateDependencyFields>
export type DependencyTrigger = TemplateDependency['recentTriggers'][number]

export const TemplateDependenciesQuery = graphql(
  `
  query TemplateDependencies($templateId: ID!) {
    templateDependencies(templateId: $templateId) { ...TemplateDependencyFields }
    jobTemplates { id name parameters { name type label description required default choices } }
  }
`,
  [TemplateDependencyFields],
)
export type TemplateOption = ResultOf<typeof TemplateDependenciesQuery>['jobTemplates'][number]

export const CreateTemplateDependency = graphql(
  `
  mutation CreateTemplateDependency($input: CreateTemplateDependencyInput!) {
    createTemplateDependency(input: $input) { ...TemplateDependencyFields }
  }
`,
  [TemplateDependencyFields],
)

export const UpdateTemplateDependency = graphql(
  `
  mutation UpdateTemplateDependency($id: ID!, $input: UpdateTemplateDependencyInput!) {
    updateTemplateDependency(id: $id, input: $input) { ...TemplateDependencyFields }
  }
`,
  [TemplateDependencyFields],
)

export const DeleteTemplateDependency = graphql(`
  mutation DeleteTemplateDependency($id: ID!) { deleteTemplateDependency(id: $id) }
`)
