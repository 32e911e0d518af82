/**
 * The facts of the Checkmk 2.4.0 REST API that Switchyard relies on, written down by hand from the
 * vendor's OpenAPI document (public copy: github.com/BlackMesaLTD/checkmk-api-spec, `specs/2.4.0/p18.yaml`;
 * not copied here — that repository states no licence). Paths are relative to `/check_mk/api/1.0`.
 * The contract server (checkmk.ts) validates against these, and checkmk-contract.test.ts checks its
 * answers against them.
 */

export const SPEC_SOURCE = 'BlackMesaLTD/checkmk-api-spec specs/2.4.0/p18.yaml'

export interface OperationFact {
  /** Request headers the spec marks `required: true` (besides Content-Type). */
  requiredHeaders: string[]
  /** `requestBody.content.application/json.schema` ($ref name). */
  body: string | null
  /** 2xx/3xx status → response schema ($ref name; null: no body). */
  success: Record<string, string | null>
  /** Every status the operation documents. */
  statuses: number[]
}

/** `paths[<path>][<method>]` of the spec. */
export const OPERATIONS: Record<string, OperationFact> = {
  'GET /domain-types/host_config/collections/all': { requiredHeaders: [], body: null, success: { '200': 'HostConfigCollection' }, statuses: [200, 400, 403, 406] },
  'GET /objects/host_config/{host_name}': { requiredHeaders: [], body: null, success: { '200': 'HostConfig' }, statuses: [200, 400, 403, 404, 406] },
  'PUT /objects/host_config/{host_name}': { requiredHeaders: ['If-Match'], body: 'UpdateHost', success: { '200': 'HostConfig' }, statuses: [200, 400, 403, 404, 406, 412, 415, 428] },
  'POST /objects/host_config/{host_name}/actions/move/invoke': { requiredHeaders: ['If-Match'], body: 'MoveHost', success: { '200': 'HostConfig' }, statuses: [200, 400, 403, 404, 406, 412, 415, 428] },
  'POST /domain-types/host_config/actions/bulk-create/invoke': { requiredHeaders: [], body: 'BulkCreateHost', success: { '200': 'HostConfigCollection' }, statuses: [200, 400, 403, 406, 415] },
  'PUT /domain-types/host_config/actions/bulk-update/invoke': { requiredHeaders: [], body: 'BulkUpdateHost', success: { '200': 'HostConfigCollection' }, statuses: [200, 400, 403, 406, 415] },
  'POST /domain-types/host_config/actions/bulk-delete/invoke': { requiredHeaders: [], body: 'BulkDeleteHost', success: { '204': null }, statuses: [204, 400, 403, 406, 415] },
  'GET /objects/folder_config/{folder}': { requiredHeaders: [], body: null, success: { '200': 'Folder' }, statuses: [200, 400, 403, 404, 406] },
  'POST /domain-types/folder_config/collections/all': { requiredHeaders: [], body: 'CreateFolder', success: { '200': 'Folder' }, statuses: [200, 400, 403, 406, 415] },
  'GET /domain-types/activation_run/collections/pending_changes': { requiredHeaders: [], body: null, success: { '200': 'PendingChangesCollection' }, statuses: [200, 403, 406] },
  // 422: "There are no changes to be activated."; 423: "There is already an activation running."
  'POST /domain-types/activation_run/actions/activate-changes/invoke': {
    requiredHeaders: ['If-Match'],
    body: 'ActivateChanges',
    success: { '200': 'ActivationRunResponse', '303': null },
    statuses: [200, 303, 400, 401, 403, 406, 409, 412, 415, 422, 423, 428],
  },
  // 302: "The activation is still running. Redirecting to the 'Wait for completion' endpoint."; 204: completed.
  'GET /objects/activation_run/{activation_id}/actions/wait-for-completion/invoke': { requiredHeaders: [], body: null, success: { '204': null, '302': null }, statuses: [204, 302, 403, 404, 406] },
}

/** `components.schemas.<name>`: `required` and the property names. */
export const SCHEMAS: Record<string, { required: string[]; properties: string[] }> = {
  BulkCreateHost: { required: ['entries'], properties: ['entries'] },
  CreateHost: { required: ['folder', 'host_name'], properties: ['host_name', 'folder', 'attributes'] },
  BulkUpdateHost: { required: ['entries'], properties: ['entries'] },
  UpdateHostEntry: { required: ['host_name'], properties: ['attributes', 'update_attributes', 'remove_attributes', 'host_name'] },
  UpdateHost: { required: [], properties: ['attributes', 'update_attributes', 'remove_attributes'] },
  BulkDeleteHost: { required: ['entries'], properties: ['entries'] },
  MoveHost: { required: ['target_folder'], properties: ['target_folder'] },
  CreateFolder: { required: ['parent', 'title'], properties: ['name', 'title', 'parent', 'attributes'] },
  ActivateChanges: { required: [], properties: ['redirect', 'sites', 'force_foreign_changes'] },
  HostConfig: { required: ['domainType', 'links'], properties: ['links', 'domainType', 'id', 'title', 'members', 'extensions'] },
  HostConfigCollection: { required: ['links'], properties: ['links', 'id', 'domainType', 'title', 'value', 'extensions'] },
  Folder: { required: ['links'], properties: ['links', 'domainType', 'id', 'title', 'members', 'extensions'] },
  ActivationRunResponse: { required: ['links'], properties: ['links', 'domainType', 'id', 'title', 'members', 'extensions'] },
  PendingChangesCollection: { required: ['links'], properties: ['links', 'domainType', 'value', 'extensions'] },
  /** HostExtensions (HostConfig.extensions). */
  HostExtensions: { required: [], properties: ['folder', 'attributes', 'effective_attributes', 'is_cluster', 'is_offline', 'cluster_nodes'] },
  /** ActivationExtensionFields (ActivationRunResponse.extensions). */
  ActivationExtensionFields: { required: [], properties: ['sites', 'is_running', 'force_foreign_changes', 'time_started', 'changes'] },
  /** ChangesFields (PendingChangesCollection.value[]). */
  ChangesFields: { required: [], properties: ['id', 'user_id', 'action_name', 'text', 'time'] },
}

/** `HostCreateAttribute` / `HostUpdateAttribute` properties (the two lists are the same in 2.4.0). */
export const HOST_ATTRIBUTES = [
  'alias', 'site', 'contactgroups', 'parents', 'tag_address_family', 'ipaddress', 'ipv6address', 'additional_ipv4addresses',
  'additional_ipv6addresses', 'tag_agent', 'tag_snmp_ds', 'snmp_community', 'tag_piggyback', 'tag_criticality', 'tag_networking',
  'labels', 'waiting_for_discovery', 'network_scan', 'management_protocol', 'management_address', 'management_snmp_community',
  'management_ipmi_credentials', 'locked_by', 'locked_attributes', 'inventory_failed',
]

/** The built-in tag groups' `enum`s in HostCreateAttribute. */
export const BUILTIN_TAG_GROUPS: Record<string, string[]> = {
  tag_address_family: ['ip-v4-only', 'ip-v6-only', 'ip-v4v6', 'no-ip'],
  tag_agent: ['cmk-agent', 'all-agents', 'special-agents', 'no-agent'],
  tag_snmp_ds: ['no-snmp', 'snmp-v2', 'snmp-v1'],
  tag_piggyback: ['auto-piggyback', 'piggyback', 'no-piggyback'],
  tag_criticality: ['prod', 'critical', 'test', 'offline'],
  tag_networking: ['lan', 'wan', 'dmz'],
}

/** `pattern`s: CreateHost.host_name; CreateHost.folder / CreateFolder.parent; CreateFolder.name; MoveHost.target_folder. */
export const PATTERNS = {
  hostName: /^[-0-9a-zA-Z_.]+$/,
  folder: /^(?:(?:[~\\/]|(?:[~\\/][-\w]+)+[~\\/]?)|[0-9a-fA-F]{32})$/,
  folderName: /^[-\w]*$/,
  targetFolder: /^(?:(?:[~\\/]|(?:[~\\/][-_ a-zA-Z0-9.]+)+[~\\/]?)|[0-9a-fA-F]{32})$/,
}
