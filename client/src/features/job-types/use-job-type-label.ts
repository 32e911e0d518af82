'use client'
/** Job types by their human label ("Shell command"), never the API name (`command`), wherever runs are listed. */
import { useCallback } from 'react'
import { useQuery } from 'urql'
import { graphql } from '@/lib/graphql'

const JobTypeLabelsQuery = graphql(`query JobTypeLabels { jobTypes { type label } }`)

export function useJobTypeLabel(): (type: string) => string {
  const [r] = useQuery({ query: JobTypeLabelsQuery, requestPolicy: 'cache-first' })
  const list = r.data?.jobTypes
  return useCallback((type: string) => list?.find((t) => t.type === type)?.label ?? type, [list])
}
