import { describe, expect, it } from 'vitest'
import { mergeWorkflowRuns, nodeSummary, type LiveWorkflowRun } from './workflow-runs'

const run = (number: number, status: string, eventSeq: number): LiveWorkflowRun => ({ id: `r${number}`, number, status, eventSeq })

describe('mergeWorkflowRuns', () => {
  it('adds new runs on top, replaces changed ones, never with an older copy', () => {
    const page = [run(2, 'RUNNING', 3), run(1, 'SUCCEEDED', 9)]
    const live = new Map([
      ['r3', run(3, 'RUNNING', 1)],
      ['r2', run(2, 'SUCCEEDED', 5)],
      ['r1', run(1, 'RUNNING', 2)], // late, older copy
    ])
    expect(mergeWorkflowRuns(page, live, () => true).map((r) => `${r.number}:${r.status}`)).toEqual(['3:RUNNING', '2:SUCCEEDED', '1:SUCCEEDED'])
  })

  it('drops runs that stop matching the filter, and adds none on older pages', () => {
    const live = new Map([['r2', run(2, 'FAILED', 4)], ['r9', run(9, 'RUNNING', 1)]])
    expect(mergeWorkflowRuns([run(2, 'RUNNING', 1)], live, (r) => r.status === 'RUNNING', false)).toEqual([])
  })
})

describe('nodeSummary', () => {
  it('counts finished nodes and those awaiting approval', () => {
    expect(nodeSummary({ nodeCount: 4, nodesDone: 2, nodesAwaitingApproval: 1 })).toBe('2 of 4 nodes done, 1 awaiting approval')
    expect(nodeSummary({ nodeCount: 3, nodesDone: 3, nodesAwaitingApproval: 0 })).toBe('3 of 3 nodes done')
  })
})
