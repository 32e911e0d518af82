import { graphql, type ResultOf } from '@/lib/graphql'

export const ScheduleFields = graphql(`
  fragment ScheduleFields on JobSchedule {
    id
    name
    description
    kind
    cronExpression
    intervalSeconds
    dailyTime
    daysOfWeek
    onceAt
    timezone
    startAt
    endAt
    active
    summary
    nextRunAt
    lastRunAt
    misfirePolicy
    misfireGraceSeconds
    misfireMaxRuns
    overlapPolicy
    parameters
    visibility
    updatedAt
    owner { id username }
    template { id name parameters { name type label description required default choices } }
    workflow { id name parameters { name type label description required default choices } }
    blackouts { id name }
  }
`)
export type Schedule = ResultOf<typeof ScheduleFields>

export const SchedulesQuery = graphql(
  `
  query Schedules($search: String, $active: Boolean) {
    jobSchedules(search: $search, active: $active) { ...ScheduleFields }
  }
`,
  [ScheduleFields],
)

export const ScheduleQuery = graphql(
  `
  query Schedule($id: ID!) {
    jobSchedule(id: $id) { ...ScheduleFields upcomingRuns(count: 5) { at blackout } }
  }
`,
  [ScheduleFields],
)

export const ScheduleFormOptionsQuery = graphql(`
  query ScheduleFormOptions {
    jobTemplates { id name parameters { name type label description required default choices } }
    workflows { id name parameters { name type label description required default choices } }
    blackoutWindows { id name description }
  }
`)

export const PreviewScheduleQuery = graphql(`
  query PreviewSchedule($input: PreviewScheduleInput!, $count: Int) {
    previewJobSchedule(input: $input, count: $count) { description upcoming }
  }
`)

export const CreateScheduleMutation = graphql(
  `
  mutation CreateSchedule($input: CreateJobScheduleInput!) {
    createJobSchedule(input: $input) { ...ScheduleFields }
  }
`,
  [ScheduleFields],
)

export const UpdateScheduleMutation = graphql(
  `
  mutation UpdateSchedule($id: ID!, $input: UpdateJobScheduleInput!) {
    updateJobSchedule(id: $id, input: $input) { ...ScheduleFields }
  }
`,
  [ScheduleFields],
)

export const SetScheduleActiveMutation = graphql(
  `
  mutation SetScheduleActive($id: ID!, $active: Boolean!) {
    setJobScheduleActive(id: $id, active: $active) { ...ScheduleFields }
  }
`,
  [ScheduleFields],
)

export const RunScheduleNowMutation = graphql(`
  mutation RunScheduleNow($id: ID!) { runJobScheduleNow(id: $id) { id number } }
`)

export const DeleteScheduleMutation = graphql(`
  mutation DeleteSchedule($id: ID!) { deleteJobSchedule(id: $id) }
`)

export const UpcomingSchedulesQuery = graphql(`
  query UpcomingSchedules {
    jobSchedules(active: true) { id name nextRunAt summary timezone template { id name } workflow { id name } }
  }
`)
