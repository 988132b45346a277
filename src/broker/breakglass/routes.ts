// The break-glass and review endpoints of the broker's HTTP API.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Actor, BrokerContext } from '../context.js'
import { BreakGlassBody, CommentBody, ReviewAnswers } from '../../wire/api-bodies.js'
import { openBreakGlass } from './grant.js'
import { fileReview, listReviews, requiredReviews, signOffReview } from './reviews.js'

export function registerBreakGlassRoutes(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string): void {
  app.post(`${prefix}/break-glass`, { schema: { body: BreakGlassBody } }, async (request, reply) => {
    const result = await openBreakGlass(ctx, await actorOf(request), request.body as BreakGlassBody)
    reply.code(201)
    return result
  })
  app.get(`${prefix}/reviews`, async (request) => {
    const query = request.query as { pending?: string; overdue?: string; required?: string }
    const actor = await actorOf(request)
    if (query.required === 'true') return { reviews: await requiredReviews(ctx, actor.user.name) }
    return { reviews: await listReviews(ctx, actor, { pending: query.pending === 'true', overdue: query.overdue === 'true' }) }
  })
  app.post(`${prefix}/reviews/:id`, { schema: { body: ReviewAnswers } }, async (request) => {
    return { review: await fileReview(ctx, await actorOf(request), (request.params as { id: string }).id, request.body as ReviewAnswers) }
  })
  app.post(`${prefix}/reviews/:id/sign-off`, { schema: { body: CommentBody } }, async (request) => {
    return { review: await signOffReview(ctx, await actorOf(request), (request.params as { id: string }).id, (request.body as { comment?: string }).comment) }
  })
}
