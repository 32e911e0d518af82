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

/**
 * The comparison templates, each with its latest run and that run's counts — one request for the whole
 * page (the server batches latestRun and deviceResultCounts across the templates).
 */
export const ComparisonTemplatesQuery = graphql(
  `
  query ComparisonTemplates {
    jobTemplates(jobTypes: ["compare_devices", "sync_devices"]) {
      id name description jobType parameters { name type label description required default choices }
      latestRun { id number status createdAt finishedAt deviceResultCounts { ...DeviceCounts } }
    }
  }
`,
  [CountsFragment],
)
