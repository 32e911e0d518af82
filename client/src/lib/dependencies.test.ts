import { describe, expect, it } from 'vitest'
import { dependencyEnds, dependencySentence, dependencySentenceParts, dependencyStatusLabel, directionFrom, statusesInWords, triggerStatusLabel } from './dependencies'

describe('template dependencies in words', () => {
  it('says the statuses in a fixed order', () => {
    expect(statusesInWords(['SUCCEEDED'])).toBe('succeeds')
    expect(statusesInWords(['FAILED', 'SUCCEEDED'])).toBe('succeeds or fails')
    expect(statusesInWords(['CANCELLED', 'TIMED_OUT', 'FAILED'])).toBe('fails, times out or is cancelled')
    expect(statusesInWords([])).toBe('ends')
    expect(dependencyStatusLabel('TIMED_OUT')).toBe('Timed out')
  })

  it('sees a dependency from either end', () => {
    const dep = { upstream: { id: 'a' }, downstream: { id: 'b' } }
    expect(directionFrom('b', dep)).toBe('AFTER')
    expect(directionFrom('a', dep)).toBe('TRIGGERS')
    expect(dependencyEnds('b', 'AFTER', 'a')).toEqual({ upstreamTemplateId: 'a', downstreamTemplateId: 'b' })
    expect(dependencyEnds('a', 'TRIGGERS', 'b')).toEqual({ upstreamTemplateId: 'a', downstreamTemplateId: 'b' })
    expect(dependencySentence('AFTER', 'backup', ['SUCCEEDED', 'FAILED'])).toBe('Runs after backup succeeds or fails.')
    expect(dependencySentence('TRIGGERS', 'report', ['SUCCEEDED'])).toBe('Starts report when this template succeeds.')
    expect(dependencySentenceParts('AFTER', ['FAILED'])).toEqual({ before: 'Runs after ', after: ' fails.' })
  })

  it('names what came of a trigger', () => {
    expect(triggerStatusLabel('STARTED')).toBe('Started')
    expect(triggerStatusLabel('PENDING')).toBe('Starting')
    expect(triggerStatusLabel('FAILED')).toBe('Not started')
  })
})
