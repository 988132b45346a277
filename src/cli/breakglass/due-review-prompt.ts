// The CLI half of the review gate. This device remembers that it opened break-glass sessions
// (ids only, in a small file), so the next jit command can ask for a due review first without
// a broker call on every start. The broker enforces the gate itself, for every device.
import type { CliContext } from '../context.js'
import { ListFile } from '../config/state-file.js'
import type { Review, ReviewAnswers } from '../../wire/api.js'

interface Marker {
  profile: string
  reviewId: string
}

const markers = new ListFile<Marker>('reviews-due.json')
const readMarkers = () => markers.read()
const writeMarkers = (entries: Marker[]) => markers.write(entries)

export function rememberReview(profile: string, reviewId: string): void {
  writeMarkers([...readMarkers().filter((m) => m.reviewId !== reviewId), { profile, reviewId }])
}

export function markerExists(): boolean {
  return markers.exists()
}

/** Cheap: true only when this device opened break-glass sessions whose reviews may be due. */
export function mayHaveDueReviews(profile: string): boolean {
  return markers.exists() && readMarkers().some((m) => m.profile === profile)
}

/** Asks the broker which reviews are due now, and forgets markers of reviews already filed. */
export async function dueReviews(cli: CliContext): Promise<Review[]> {
  const client = await cli.client()
  const [{ reviews: due }, { reviews: visible }] = await Promise.all([
    client.get<{ reviews: Review[] }>('/reviews?required=true'),
    client.get<{ reviews: Review[] }>('/reviews'),
  ])
  const unfiled = new Set(visible.filter((r) => !r.filedAt).map((r) => r.id))
  writeMarkers(readMarkers().filter((m) => m.profile !== cli.options.profile || unfiled.has(m.reviewId)))
  return due
}

export async function fileReview(cli: CliContext, reviewId: string, answers: ReviewAnswers): Promise<Review> {
  const { review } = await (await cli.client()).post<{ review: Review }>(`/reviews/${encodeURIComponent(reviewId)}`, answers)
  writeMarkers(readMarkers().filter((m) => m.reviewId !== reviewId))
  return review
}
