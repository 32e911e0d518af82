/** The Checkmk comparison dashboard's GraphQL documents: a run's per-device results, "Sync selected", the latest comparisons. */
import { graphql, type ResultOf } from '@/lib/graphql'

const CountsFragment = graphql(`
  fragment DeviceCounts on DeviceResultCounts {
    total equal different missingInCheckmk extraInCheckmk skipped created updated unchanged removed failed actionSkipped
  }
`)

export const DeviceResultsQuery = graphql(
  `
  query DeviceResults($id: ID!, $statuses: [DeviceComparisonStatus!], $actions: [DeviceSyncAction!], $search: String, $first: Int, $offset: Int) {
    jobRun(id: $id) {
      id
      deviceResults(statuses: $statuses, actions: $actions, search: $search, first: $first, offset: $offset) {
        counts { ...DeviceCounts }
        totalCount
        devices { device status action folder error diffs { field expected actual } }
      }
    }
  }
`,
  [CountsFragment],
)
export type DeviceResultRow = ResultOf<typeof DeviceResultsQuery>['jobRun']['deviceResults']['devices'][number]

export const SyncSelectedDevicesMutation = graphql(`
  mutation SyncSelectedDevices($runId: ID!, $devices: [String!]!, $dryRun: Boolean, $activate: Boolean) {
    syncSelectedDevices(runId: $runId, devices: $devices, dryRun: $dryRun, activate: $activate) { id number status }
  }
`)

/** The comparison templates, each with its latest run and that run's counts. */
export const ComparisonTemplatesQuery = graphql(`
  query ComparisonTemplates {
    jobTemplates(jobTypes: ["compare_devices", "sync_devices"]) { id name description jobType parameters { name type label description required default choices } }
  }
`)

export const LatestTemplateRunQuery = graphql(`
  query LatestTemplateRun($templateId: ID!) {
    jobRuns(filter: { templateIds: [$templateId] }, first: 1) {
      edges {
        node {
          id
          number
          status
          createdAt
          finishedAt
        }
      }
    }
  }
`)

/** A run's device counts alone (asked apart from the run list: nested inside it the query is too deep). */
export const RunDeviceCountsQuery = graphql(
  `
  query RunDeviceCounts($id: ID!) {
    jobRun(id: $id) {
      id
      deviceResults(first: 1) { counts { ...DeviceCounts } }
    }
  }
`,
  [CountsFragment],
)
