/**
 * A stateful Checkmk REST server for tests (real HTTP on loopback), implementing exactly the endpoints
 * Switchyard calls with the documented semantics of Checkmk 2.4.0 (facts in checkmk-spec-facts.ts):
 *
 * - `Authorization: Bearer <user> <secret>` or 401; a JSON body needs `Content-Type: application/json` (415).
 * - Hosts and folders: bodies validated like the real one (required fields, name/folder patterns, unknown
 *   fields and unknown host attributes refused with 400, tag groups that do not exist refused, a host's
 *   folder must exist). Bulk create/update answer 400 with `ext.failed_hosts` when some entries fail.
 * - An ETag on every host GET; PUT/move without `If-Match` → 428, with a stale one → 412.
 * - Every mutation appends a pending change; the pending-changes list has its own ETag that changes with it.
 * - Activation: If-Match with the pending-changes ETag (428/412), 422 when nothing is pending, 423 while
 *   another runs; it runs for `activationMs`, during which wait-for-completion answers 302 (to itself),
 *   then 204.
 *
 * `state` is open to the test for checks and for "a person edited this host in the GUI" (`touchHost`).
 */
import { randomUUID, createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BUILTIN_TAG_GROUPS, PATTERNS } from './checkmk-spec-facts.ts'
import { Problem, requestRules } from './checkmk-rules.ts'

export interface StoredHost {
  folder: string
  attributes: Record<string, unknown>
  version: number
}

export interface TestCheckmk {
  /** The site URL (the API is under /check_mk/api/1.0). */
  url: string
  site: string
  state: {
    hosts: Map<string, StoredHost>
    folders: Set<string>
    pending: Array<{ id: string; action_name: string; text: string; time: string; user_id: string }>
    activations: Map<string, { startedAt: number; doneAt: number; changes: number }>
  }
  /** Every request: method, path (below the API root), status answered. */
  requests: Array<{ method: string; path: string; status: number }>
  /**
   * A change made outside Switchyard (a person in the GUI): bumps the host's ETag and adds a pending change,
   * by `user` (default: the automation user; another name makes it a foreign change).
   */
  touchHost(name: string, change: (h: StoredHost) => void, user?: string): void
  /** Makes the next `n` host PUTs answer 412 as if someone else had written in between (a race). */
  raceNextEdits(n: number): void
  stop(): Promise<void>
}

export interface CheckmkOptions {
  username?: string
  secret?: string
  site?: string
  /** How long an activation runs. */
  activationMs?: number
  /** Tag groups configured besides the built-in ones: attribute → allowed tag ids. */
  tagGroups?: Record<string, string[]>
}

const API = '/check_mk/api/1.0'

export async function startCheckmk(options: CheckmkOptions = {}): Promise<TestCheckmk> {
  const username = options.username ?? 'automation'
  const secret = options.secret ?? 'automation-secret-1'
  const siteId = options.site ?? 'mysite'
  const activationMs = options.activationMs ?? 300
  const tagGroups = { ...BUILTIN_TAG_GROUPS, ...(options.tagGroups ?? {}) }
  const state: TestCheckmk['state'] = { hosts: new Map(), folders: new Set(['/']), pending: [], activations: new Map() }
  const requests: TestCheckmk['requests'] = []
  let version = 0
  let races = 0

  const change = (action_name: string, text: string, user = username) => state.pending.push({ id: randomUUID(), action_name, text, time: new Date().toISOString(), user_id: user })
  const pendingEtag = () => `"${createHash('sha256').update(state.pending.map((c) => c.id).join(',')).digest('hex').slice(0, 16)}"`
  const hostEtag = (name: string, h: StoredHost) => `"${createHash('sha256').update(`${name}:${h.version}`).digest('hex').slice(0, 16)}"`

  const hostObject = (name: string, h: StoredHost) => ({
    links: [{ domainType: 'link', rel: 'self', href: `http://127.0.0.1${API}/objects/host_config/${name}`, method: 'GET', type: 'application/json' }],
    domainType: 'host_config',
    id: name,
    title: name,
    members: {},
    extensions: { folder: h.folder, attributes: h.attributes, effective_attributes: null, is_cluster: false, is_offline: false, cluster_nodes: null },
  })
  const collection = (names: string[]) => ({ links: [], id: 'all', domainType: 'host_config', value: names.map((n) => hostObject(n, state.hosts.get(n)!)), extensions: {} })
  const folderObject = (path: string) => ({
    links: [],
    domainType: 'folder_config',
    id: path === '/' ? '~' : path.replaceAll('/', '~'),
    title: path.split('/').filter(Boolean).pop() ?? 'Main',
    members: {},
    extensions: { path, attributes: {} },
  })

  const { object, attributes, folderPath, hostName, entries, ifMatch } = requestRules(tagGroups, siteId)
  const bump = (h: StoredHost) => {
    h.version = ++version
  }

  /** One entry of a bulk/single update: exactly one of attributes / update_attributes / remove_attributes. */
  const applyUpdate = (name: string, h: StoredHost, e: Record<string, unknown>, where: string) => {
    const given = ['attributes', 'update_attributes', 'remove_attributes'].filter((k) => e[k] !== undefined)
    if (given.length !== 1) throw new Problem(400, 'Bad Request', `${where}: This endpoint only allows 1 action (set/update/remove) per call, you specified ${given.length} actions: ${given.join(', ')}.`)
    if (e.attributes !== undefined) h.attributes = { ...attributes(e.attributes, `${where}.attributes`) }
    if (e.update_attributes !== undefined) h.attributes = { ...h.attributes, ...attributes(e.update_attributes, `${where}.update_attributes`) }
    if (e.remove_attributes !== undefined) {
      if (!Array.isArray(e.remove_attributes)) throw new Problem(400, 'Bad Request', `${where}.remove_attributes: Not a valid list.`)
      for (const k of e.remove_attributes as string[]) delete h.attributes[k]
    }
    bump(h)
    change('edit-host', `Modified attributes of host ${name}`)
  }

  type Route = (req: IncomingMessage, params: string[], body: unknown) => { status: number; body?: unknown; headers?: Record<string, string> }
  const routes: Array<[string, RegExp, Route]> = [
    ['GET', /^\/domain-types\/host_config\/collections\/all$/, () => ({ status: 200, body: collection([...state.hosts.keys()].sort()) })],
    [
      'GET',
      /^\/objects\/host_config\/([^/]+)$/,
      (_req, [name]) => {
        const h = state.hosts.get(name!)
        if (!h) throw new Problem(404, 'Not Found', `Host "${name}" is not known.`)
        return { status: 200, body: hostObject(name!, h), headers: { ETag: hostEtag(name!, h) } }
      },
    ],
    [
      'PUT',
      /^\/objects\/host_config\/([^/]+)$/,
      (req, [name], body) => {
        const h = state.hosts.get(name!)
        if (!h) throw new Problem(404, 'Not Found', `Host "${name}" is not known.`)
        ifMatch(req, races > 0 ? (races--, '"raced"') : hostEtag(name!, h))
        const copy = structuredClone(h)
        applyUpdate(name!, copy, object(body, 'UpdateHost', 'body'), 'body')
        state.hosts.set(name!, copy)
        return { status: 200, body: hostObject(name!, copy), headers: { ETag: hostEtag(name!, copy) } }
      },
    ],
    [
      'POST',
      /^\/objects\/host_config\/([^/]+)\/actions\/move\/invoke$/,
      (req, [name], body) => {
        const h = state.hosts.get(name!)
        if (!h) throw new Problem(404, 'Not Found', `Host "${name}" is not known.`)
        ifMatch(req, hostEtag(name!, h))
        const target = folderPath(object(body, 'MoveHost', 'body').target_folder, PATTERNS.targetFolder, 'body.target_folder')
        if (!state.folders.has(target)) throw new Problem(400, 'Bad Request', `body.target_folder: The folder ${target} could not be found.`)
        h.folder = target
        bump(h)
        change('move-host', `Moved host ${name} to ${target}`)
        return { status: 200, body: hostObject(name!, h), headers: { ETag: hostEtag(name!, h) } }
      },
    ],
    [
      'POST',
      /^\/domain-types\/host_config\/actions\/bulk-create\/invoke$/,
      (_req, _p, body) => {
        const list = entries(body, 'BulkCreateHost')
        // The whole body is validated first: a malformed entry refuses the request (nothing is created).
        const parsed = list.map((raw, i) => {
          const e = object(raw, 'CreateHost', `entries.${i}`)
          return { name: hostName(e.host_name, `entries.${i}.host_name`), folder: folderPath(e.folder, PATTERNS.folder, `entries.${i}.folder`), attributes: attributes(e.attributes, `entries.${i}.attributes`) }
        })
        const failed: Record<string, string> = {}
        const created: string[] = []
        for (const e of parsed) {
          if (state.hosts.has(e.name) || created.includes(e.name)) failed[e.name] = `Host ${e.name} already exists.`
          else if (!state.folders.has(e.folder)) failed[e.name] = `The folder ${e.folder} could not be found.`
          else {
            state.hosts.set(e.name, { folder: e.folder, attributes: { ...e.attributes }, version: ++version })
            change('create-host', `Created new host ${e.name}.`)
            created.push(e.name)
          }
        }
        if (Object.keys(failed).length) throw new Problem(400, 'Some actions failed', `Some of the actions were performed but the following were faulty and were skipped: ${Object.keys(failed).join(', ')}.`, { ext: { succeeded_hosts: collection(created), failed_hosts: failed } })
        return { status: 200, body: collection(created) }
      },
    ],
    [
      'PUT',
      /^\/domain-types\/host_config\/actions\/bulk-update\/invoke$/,
      (_req, _p, body) => {
        const list = entries(body, 'BulkUpdateHost').map((raw, i) => ({ i, e: object(raw, 'UpdateHostEntry', `entries.${i}`) }))
        const failed: Record<string, string> = {}
        const done: string[] = []
        for (const { i, e } of list) {
          const name = hostName(e.host_name, `entries.${i}.host_name`)
          const h = state.hosts.get(name)
          if (!h) {
            failed[name] = `Host ${name} does not exist.`
            continue
          }
          try {
            const copy = structuredClone(h)
            applyUpdate(name, copy, e, `entries.${i}`)
            state.hosts.set(name, copy)
            done.push(name)
          } catch (err) {
            if (!(err instanceof Problem)) throw err
            failed[name] = err.detail
          }
        }
        if (Object.keys(failed).length) throw new Problem(400, 'Some actions failed', `Some of the actions were performed but the following were faulty and were skipped: ${Object.keys(failed).join(', ')}.`, { ext: { succeeded_hosts: collection(done), failed_hosts: failed } })
        return { status: 200, body: collection(done) }
      },
    ],
    [
      'POST',
      /^\/domain-types\/host_config\/actions\/bulk-delete\/invoke$/,
      (_req, _p, body) => {
        const list = entries(body, 'BulkDeleteHost').map((n, i) => hostName(n, `entries.${i}`))
        const unknown = list.filter((n) => !state.hosts.has(n))
        if (unknown.length) throw new Problem(400, 'Bad Request', `entries: Host(s) ${unknown.join(', ')} do not exist.`)
        for (const n of list) {
          state.hosts.delete(n)
          change('delete-host', `Deleted host ${n}`)
        }
        return { status: 204 }
      },
    ],
    [
      'GET',
      /^\/objects\/folder_config\/([^/]+)$/,
      (_req, [folder]) => {
        const path = folderPath(folder, PATTERNS.folder, 'folder')
        if (!state.folders.has(path)) throw new Problem(404, 'Not Found', `The requested folder ${path} was not found`)
        return { status: 200, body: folderObject(path), headers: { ETag: `"${createHash('sha256').update(path).digest('hex').slice(0, 16)}"` } }
      },
    ],
    [
      'POST',
      /^\/domain-types\/folder_config\/collections\/all$/,
      (_req, _p, body) => {
        const o = object(body, 'CreateFolder', 'body')
        const parent = folderPath(o.parent, PATTERNS.folder, 'body.parent')
        if (typeof o.title !== 'string' || !o.title) throw new Problem(400, 'Bad Request', 'body.title: Missing data for required field.')
        const name = o.name === undefined ? o.title : o.name
        if (typeof name !== 'string' || !name || !PATTERNS.folderName.test(name)) throw new Problem(400, 'Bad Request', `body.name: ${JSON.stringify(name)} is not a valid folder name`)
        if (!state.folders.has(parent)) throw new Problem(400, 'Bad Request', `body.parent: The folder ${parent} could not be found.`)
        const path = parent === '/' ? `/${name}` : `${parent}/${name}`
        if (state.folders.has(path)) throw new Problem(400, 'Bad Request', `A folder with name ${name} already exists.`)
        state.folders.add(path)
        change('new-folder', `Created new folder ${path}`)
        return { status: 200, body: folderObject(path) }
      },
    ],
    [
      'GET',
      /^\/domain-types\/activation_run\/collections\/pending_changes$/,
      () => ({ status: 200, body: { links: [], domainType: 'activation_run', value: state.pending, extensions: {} }, headers: { ETag: pendingEtag() } }),
    ],
    [
      'POST',
      /^\/domain-types\/activation_run\/actions\/activate-changes\/invoke$/,
      (req, _p, body) => {
        const o = object(body ?? {}, 'ActivateChanges', 'body')
        if (o.sites !== undefined && (!Array.isArray(o.sites) || o.sites.some((s) => s !== siteId))) throw new Problem(400, 'Bad Request', `body.sites: Unknown site in ${JSON.stringify(o.sites)}`)
        ifMatch(req, pendingEtag())
        const now = Date.now()
        if ([...state.activations.values()].some((a) => a.doneAt > now)) throw new Problem(423, 'Locked', 'There is already an activation running.')
        if (!state.pending.length) throw new Problem(422, 'Unprocessable Entity', 'Currently there are no changes to activate.')
        // 401 per the spec: "The API user may not activate another users changes, or the user may and activation was not forced explicitly."
        if (o.force_foreign_changes !== true && state.pending.some((c) => c.user_id !== username)) {
          throw new Problem(401, 'Unauthorized', 'There are changes from other users and foreign changes are not allowed in this API call.')
        }
        const id = randomUUID()
        const changes = state.pending.splice(0)
        state.activations.set(id, { startedAt: now, doneAt: now + activationMs, changes: changes.length })
        return {
          status: 200,
          body: {
            links: [{ domainType: 'link', rel: 'self', href: `http://127.0.0.1${API}/objects/activation_run/${id}`, method: 'GET', type: 'application/json' }],
            domainType: 'activation_run',
            id,
            title: `Activation status: In progress.`,
            members: {},
            extensions: { sites: [siteId], is_running: true, force_foreign_changes: o.force_foreign_changes === true, time_started: new Date(now).toISOString(), changes },
          },
        }
      },
    ],
    [
      'GET',
      /^\/objects\/activation_run\/([^/]+)\/actions\/wait-for-completion\/invoke$/,
      (req, [id]) => {
        const a = state.activations.get(id!)
        if (!a) throw new Problem(404, 'Not Found', `Could not find an activation with id ${JSON.stringify(id)}.`)
        if (Date.now() < a.doneAt) return { status: 302, headers: { Location: `${API}${req.url!.slice(API.length)}` } }
        return { status: 204 }
      },
    ],
  ]

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, problem = false) => {
    const text = body === undefined ? '' : JSON.stringify(body)
    res.writeHead(status, { ...(text ? { 'Content-Type': problem ? 'application/problem+json' : 'application/json' } : {}), ...headers })
    res.end(text)
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const prefix = `/${siteId}${API}`
      const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : null
      let status = 500
      try {
        if (path === null) throw new Problem(404, 'Not Found', 'Not a Checkmk site URL')
        const auth = req.headers.authorization ?? ''
        if (auth !== `Bearer ${username} ${secret}`) throw new Problem(401, 'Unauthorized', 'You need to be authenticated to use the REST API.')
        const route = routes.find(([m, re]) => m === req.method && re.test(path))
        if (!route) throw new Problem(404, 'Not Found', `No route for ${req.method} ${path}`)
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = undefined
        if (text) {
          if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new Problem(415, 'Unsupported Media Type', `Content type ${req.headers['content-type']} not supported on this endpoint.`)
          try {
            body = JSON.parse(text)
          } catch {
            throw new Problem(400, 'Bad Request', 'Invalid JSON')
          }
        }
        const params = route[1].exec(path)!.slice(1).map(decodeURIComponent)
        const answer = route[2](req, params, body)
        status = answer.status
        send(res, answer.status, answer.body, answer.headers)
      } catch (e) {
        if (!(e instanceof Problem)) {
          send(res, 500, { title: 'Internal Server Error', status: 500, detail: String(e) }, {}, true)
          return
        }
        status = e.status
        send(res, e.status, { title: e.title, status: e.status, detail: e.detail, ...e.extra }, {}, true)
      } finally {
        requests.push({ method: req.method ?? '', path: path ?? url.pathname, status })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/${siteId}`,
    site: siteId,
    state,
    requests,
    touchHost(name, fn, user) {
      const h = state.hosts.get(name)
      if (!h) throw new Error(`no host ${name}`)
      fn(h)
      bump(h)
      change('edit-host', `Modified attributes of host ${name}`, user)
    },
    raceNextEdits(n) {
      races = n
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
