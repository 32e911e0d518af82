/**
 * Per-device results of compare_devices / sync_devices runs (JobRun.deviceResults) and "sync selected"
 * (syncSelectedDevices): the shape the comparison dashboard needs — counts per status and action, a
 * filtered page of devices with field-by-field diffs.
 */
import type { DeviceResult } from '../../generated/prisma/client.ts'
import { COMPARISON_STATUSES, SYNC_ACTIONS, type DeviceResultCounts } from '../../modules/checkmk/device-results.service.ts'
import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { JobRunRef } from './runs.ts'
import { batchLoad } from '../batch-loader.ts'
import type { GraphQLContext } from '../context.ts'

const DeviceComparisonStatusEnum = builder.enumType('DeviceComparisonStatus', {
  values: COMPARISON_STATUSES,
  description: 'A Nautobot device against its Checkmk host: EXTRA_IN_CHECKMK lists only hosts Switchyard manages (label switchyard/managed); SKIPPED: the device cannot be a host (see error).',
})
const DeviceSyncActionEnum = builder.enumType('DeviceSyncAction', {
  values: SYNC_ACTIONS,
  description: 'What sync_devices did to the host (in a dry run: would do).',
})

const DeviceFieldDiffRef = builder.objectRef<{ field: string; expected: string | null; actual: string | null }>('DeviceFieldDiff').implement({
  fields: (t) => ({
    field: t.exposeString('field', { description: '`folder`, `ipaddress`, `site`, `labels.<key>` or a tag group (`tag_…`).' }),
    expected: t.exposeString('expected', { nullable: true, description: 'What Nautobot says it should be (null: absent).' }),
    actual: t.exposeString('actual', { nullable: true, description: 'What Checkmk has (null: absent).' }),
  }),
})

const DeviceResultRef = builder.objectRef<DeviceResult>('DeviceResult').implement({
  fields: (t) => ({
    device: t.exposeString('device', { description: 'The device (host) name.' }),
    status: t.field({ type: DeviceComparisonStatusEnum, resolve: (r) => r.status as (typeof COMPARISON_STATUSES)[number] }),
    action: t.field({ type: DeviceSyncActionEnum, nullable: true, description: 'sync_devices only.', resolve: (r) => r.action as (typeof SYNC_ACTIONS)[number] | null }),
    folder: t.exposeString('folder', { nullable: true }),
    diffs: t.field({ type: [DeviceFieldDiffRef], resolve: (r) => (Array.isArray(r.diffs) ? (r.diffs as Array<{ field: string; expected: string | null; actual: string | null }>) : []) }),
    error: t.exposeString('error', { nullable: true, description: 'Why the device was skipped or failed.' }),
  }),
})

const DeviceResultCountsRef = builder.objectRef<DeviceResultCounts>('DeviceResultCounts').implement({
  description: 'Counts over the whole run (not the filter).',
  fields: (t) => ({
    total: t.exposeInt('total'),
    equal: t.exposeInt('equal'),
    different: t.exposeInt('different'),
    missingInCheckmk: t.exposeInt('missingInCheckmk'),
    extraInCheckmk: t.exposeInt('extraInCheckmk'),
    skipped: t.exposeInt('skipped'),
    created: t.exposeInt('created'),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged'),
    removed: t.exposeInt('removed'),
    failed: t.exposeInt('failed'),
    actionSkipped: t.exposeInt('actionSkipped', { description: 'Devices sync_devices skipped.' }),
  }),
})

const DeviceResultPageRef = builder.objectRef<{ runId: string; rows: DeviceResult[]; totalCount: number }>('DeviceResultPage').implement({
  fields: (t) => ({
    counts: t.field({ type: DeviceResultCountsRef, resolve: (p, _a, ctx) => countsOf(ctx, p.runId) }),
    totalCount: t.exposeInt('totalCount', { description: 'Devices matching the filter.' }),
    devices: t.field({ type: [DeviceResultRef], resolve: (p) => p.rows }),
  }),
})

/** Counts of each run asked for in this turn, loaded together (a list of runs costs two queries, not two each). */
const countsOfRuns = (ctx: GraphQLContext, runIds: readonly string[]) => ctx.services.deviceResults.countsOfRuns(runIds)
const countsOf = async (ctx: GraphQLContext, runId: string) => (await batchLoad(ctx, countsOfRuns, runId))!

builder.objectField(JobRunRef, 'deviceResultCounts', (t) =>
  t.field({
    type: DeviceResultCountsRef,
    description: 'compare_devices / sync_devices: the per-device results counted by status and action, for the whole run (zeros for other job types); as deviceResults.counts without loading a page.',
    resolve: (run, _a, ctx) => countsOf(ctx, run.id),
  }),
)

builder.objectField(JobRunRef, 'deviceResults', (t) =>
  t.field({
    type: DeviceResultPageRef,
    description: 'compare_devices / sync_devices: the per-device results, filtered, in device order (empty for other job types).',
    args: {
      statuses: t.arg({ type: [DeviceComparisonStatusEnum] }),
      actions: t.arg({ type: [DeviceSyncActionEnum] }),
      search: t.arg.string({ description: 'Part of the device name (case-insensitive).' }),
      first: t.arg.int({ defaultValue: 100, description: '1-1000.' }),
      offset: t.arg.int({ defaultValue: 0 }),
    },
    resolve: async (run, args, ctx) => {
      const { rows, totalCount } = await ctx.services.deviceResults.page(run.id, { statuses: args.statuses, actions: args.actions, search: args.search }, args.first ?? 100, args.offset ?? 0)
      return { runId: run.id, rows, totalCount }
    },
  }),
)

builder.mutationFields((t) => ({
  syncSelectedDevices: t.prismaField({
    type: 'JobRun',
    description: "Starts a sync_devices run with the config of a compare_devices (or sync_devices) run, for only the given devices (the dashboard's \"sync selected\").",
    args: {
      runId: t.arg.id({ required: true, description: 'The compare_devices or sync_devices run whose config is used.' }),
      devices: t.arg.stringList({ required: true }),
      dryRun: t.arg.boolean({ defaultValue: false }),
      activate: t.arg.boolean({ defaultValue: false, description: 'Activate the pending changes afterwards.' }),
    },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.deviceResults.syncSelected(ctx.actor, decodeId(String(args.runId), 'JobRun', 'runId'), args.devices, { dryRun: args.dryRun ?? false, activate: args.activate ?? false }),
  }),
}))
