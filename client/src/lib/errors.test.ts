import { expect, it } from 'vitest'
import { errorMessage, fieldError, toFormErrors, withUnclaimed } from './errors'

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
  expect(e).toEqual({ form: 'Conflict', fields: { name: 'required', 'config.commands.0': 'too short' }, code: 'BAD_USER_INPUT' })
  expect(fieldError(e, 'config.commands')).toBe('0: too short')
  expect(fieldError(e, 'name')).toBe('required')
  expect(fieldError(e, 'host')).toBeUndefined()
  expect(withUnclaimed(e, ['name']).form).toBe('Conflict config.commands.0: too short')
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
