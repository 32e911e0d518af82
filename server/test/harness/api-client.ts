/**
 * GraphQL over HTTP to a server in another process (spawnWorker): `gql` throws on any GraphQL error, so a
 * test reads its data directly; `login` signs in as the harness's admin and sends the token from then on.
 */
import { ADMIN_PASSWORD } from './app.ts'

export interface ApiClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the selection is the caller's
  gql(query: string, variables?: Record<string, unknown>): Promise<any>
  login(): Promise<string>
  /** The session token (empty before login). */
  token(): string
}

/** `url` is read on each call: a test may restart its server on another port. */
export function apiClient(url: () => string): ApiClient {
  let token = ''
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the selection is the caller's
  const gql = async (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const res = await fetch(`${url()}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    })
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = (await res.json()) as { data?: any; errors?: unknown[] }
    if (r.errors?.length) throw new Error(JSON.stringify(r.errors))
    return r.data
  }
  return {
    gql,
    async login() {
      token = (await gql(`mutation($p: String!) { login(username: "admin", password: $p) { token } }`, { p: ADMIN_PASSWORD })).login.token
      return token
    },
    token: () => token,
  }
}
