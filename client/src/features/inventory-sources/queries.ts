/** The inventory sources' GraphQL documents, shared by the list and the source's own page. */
import { graphql, type ResultOf } from '@/lib/graphql'

export const InventorySourceFields = graphql(`
  fragment InventorySourceFields on InventorySource {
    id name description kind url syncMode maxDeleteFraction tlsVerify caCertificate defaultPort extraTags targetCount
    lastSyncAt lastSyncResult
    lastSyncRun { id number status }
    filter { locations roles platforms statuses tags }
    customFieldMappings { customField attribute tagPrefix }
    syncBeforeRunMaxAgeSeconds syncBeforeRunRequired
    tokenCredential { id name }
    defaultCredential { id name username }
    owner { id username }
    updatedAt
  }
`)
export type InventorySource = ResultOf<typeof InventorySourceFields>

/** Credentials for the pickers: the API token must be a PASSWORD credential you may use. */
export const SourceCredentialFields = graphql(`fragment SourceCredentialFields on Credential { id name username kind canUse }`)
export type SourceCredential = ResultOf<typeof SourceCredentialFields>

export const InventorySourcesQuery = graphql(
  `query InventorySources { inventorySources { ...InventorySourceFields } credentials { ...SourceCredentialFields } }`,
  [InventorySourceFields, SourceCredentialFields],
)
export const InventorySourceQuery = graphql(
  `query InventorySource($id: ID!) { inventorySource(id: $id) { ...InventorySourceFields } credentials { ...SourceCredentialFields } }`,
  [InventorySourceFields, SourceCredentialFields],
)
export const CreateInventorySource = graphql(
  `mutation CreateInventorySource($input: CreateInventorySourceInput!) { createInventorySource(input: $input) { ...InventorySourceFields } }`,
  [InventorySourceFields],
)
export const UpdateInventorySource = graphql(
  `mutation UpdateInventorySource($id: ID!, $input: UpdateInventorySourceInput!) { updateInventorySource(id: $id, input: $input) { ...InventorySourceFields } }`,
  [InventorySourceFields],
)
export const DeleteInventorySource = graphql(`mutation DeleteInventorySource($id: ID!) { deleteInventorySource(id: $id) }`)
export const TestInventorySource = graphql(`mutation TestInventorySource($id: ID!) { testInventorySource(id: $id) { ok message version deviceCount } }`)
export const PreviewInventorySync = graphql(`
  mutation PreviewInventorySync($id: ID!) {
    previewInventorySync(id: $id) {
      deviceCount changesNothing refusal unchanged
      create { name host port tags attributes }
      update { name target { id } changes { field old new } }
      remove { name host target { id } }
      skipped { name reason }
    }
  }
`)
export type SyncPreview = ResultOf<typeof PreviewInventorySync>['previewInventorySync']
export const SyncInventorySource = graphql(`mutation SyncInventorySource($id: ID!, $force: Boolean) { syncInventorySource(id: $id, force: $force) { id number status } }`)

/** Sync runs as they change: the list and the source's page refresh when one ends. */
export const SyncRunsChanged = graphql(`subscription SyncRunsChanged { jobRunsChanged(filter: { jobTypes: ["inventory_sync"] }) { id number status error templateName updatedAt } }`)
/** One sync run, live until it ends. */
export const SyncRunUpdated = graphql(`subscription SyncRunUpdated($runId: ID!) { jobRunUpdated(runId: $runId) { id number status error updatedAt } }`)
