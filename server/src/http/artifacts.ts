/**
 * GET /artifacts/<id>: downloads a run artifact, with the same bearer token as the API. An artifact
 * of a run the caller may not see is "not found", like the run itself.
 */
import type http from 'node:http'
import { tokenFromHeader } from '../auth/tokens.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { canSee } from '../modules/actor.ts'
import type { UsersService } from '../modules/users/users.service.ts'
import { isUuid } from '../util/uuid.ts'

export const ARTIFACTS_PATH = '/artifacts/'
export function createArtifactHandler(deps: { prisma: PrismaClient; users: UsersService }) {
  const fail = (res: http.ServerResponse, status: number, message: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(message + '\n')
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void fail(res, 405, 'use GET')
    const token = tokenFromHeader(req.headers.authorization)
    const actor = token ? await deps.users.authenticate(token) : null
    if (!actor) return void fail(res, 401, 'authentication required: send Authorization: Bearer <token>')
    const id = decodeURIComponent((req.url ?? '').slice(ARTIFACTS_PATH.length).split('?')[0] ?? '')
    if (!isUuid(id)) return void fail(res, 404, 'artifact not found')
    const artifact = await deps.prisma.runArtifact.findUnique({ where: { id }, include: { run: { select: { visibility: true, ownerId: true } } } })
    if (!artifact || !canSee(actor, artifact.run) || artifact.expiresAt < new Date()) return void fail(res, 404, 'artifact not found')
    const filename = artifact.name.split('/').pop()!
    // Header values are Latin-1: a plain ASCII fallback, and the exact name in RFC 5987's filename*
    // (a masked name, `cfg-••••••.txt`, made writeHead throw).
    const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_')
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(artifact.size),
      'content-disposition': ascii === filename ? `attachment; filename="${filename}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`,
      'x-content-sha256': artifact.sha256,
      'cache-control': 'private, no-store',
    })
    res.end(req.method === 'HEAD' ? undefined : Buffer.from(artifact.content))
  }
}
