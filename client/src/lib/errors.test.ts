import { expect, it } from 'vitest'
import { errorMessage, fieldError, friendlyMessage, toFormErrors, withUnclaimed } from './errors'

it('keys API field problems by field without the input prefix', () => {
  const e = toFormErrors({
    message: '',
    graphQLErrors: [
      {
        message: 'input.name: required',
        extensions: { code: 'BAD_USER_INPUT', field: 'input.name', fields: [{ field: 'input.name', message: 'required' }, { field: 'input.config.commands.0', message: 'too short' }] },
      },
      { message: 'Conflict', extensions: { code: 'CONFLICT' } },
    ],
  })
  expect(e).toEqual({ form: 'Conflict', fields: { name: 'This field is required.', 'config.commands.0': 'too short' }, code: 'BAD_USER_INPUT' })
  expect(fieldError(e, 'config.commands')).toBe('Entry 1: too short')
  expect(fieldError(e, 'name')).toBe('This field is required.')
  expect(fieldError(e, 'host')).toBeUndefined()
  expect(withUnclaimed(e, ['name']).form).toBe('Conflict Config, commands, entry 1: too short')
})

it('puts validator wording into plain words, saying where for cron fields', () => {
  expect(friendlyMessage('Constraint error, got value 61 expected range 0-59')).toBe('61 is out of range for the minute (or second) field: use 0 to 59.')
  expect(friendlyMessage('Constraint error, got value 25 expected range 0-23')).toBe('25 is out of range for the hour field: use 0 to 23.')
  expect(friendlyMessage('required')).toBe('This field is required.')
  expect(friendlyMessage('Too small: expected number to be >=1')).toBe('Must be at least 1.')
  expect(friendlyMessage('Too small: expected array to have >=1 items')).toBe('Add at least one entry.')
  expect(friendlyMessage('Too big: expected number to be <=300')).toBe('Must be at most 300.')
  expect(friendlyMessage('must be an e-mail address')).toBe('must be an e-mail address')
})

it('uses the single field when there is no list, and explains network errors', () => {
  expect(toFormErrors({ message: 'x', graphQLErrors: [{ message: 'must be > 0', extensions: { field: 'parameters.count' } }] }).fields).toEqual({ 'parameters.count': 'must be > 0' })
  expect(toFormErrors({ message: 'x', networkError: { message: 'Failed to fetch' }, graphQLErrors: [] }).form).toMatch(/Cannot reach/)
  expect(toFormErrors(null).form).toBeNull()
})

it('puts field problems into the one message of an action without a form', () => {
  expect(errorMessage({ message: 'x', graphQLErrors: [{ message: 'API token not found', extensions: { code: 'NOT_FOUND', fields: [{ field: 'id', message: 'API token not found' }] } }] })).toBe('API token not found')
  expect(errorMessage({ message: 'x', graphQLErrors: [{ message: 'only admins may do this', extensions: { code: 'FORBIDDEN' } }] })).toBe('only admins may do this')
  expect(errorMessage(null)).toBeNull()
})
