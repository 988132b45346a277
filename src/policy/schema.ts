// JSON schema of the policy file (YAML). Validation errors are mapped back to file positions;
// what a schema cannot say (regexes compile, time zones exist, names are unique) load.ts checks.

import { modbusSchema } from './modbus.js'

export const duration = { type: 'string', pattern: '^(?:\\d+d)?(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?$', minLength: 2 } as const
export const names = { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 } as const
export const clock = { type: 'string', pattern: '^(?:[01]\\d|2[0-3]):[0-5]\\d$|^24:00$' } as const
export const weekdays = { type: 'array', items: { enum: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] }, minItems: 1, uniqueItems: true } as const
export const assetStates = { enum: ['running', 'maintenance', 'stopped', 'offline'] } as const
export const timeZone = { type: 'string', minLength: 1 } as const

/** A credential named in the policy, never written in it: an environment variable or a file. */
const secretRef = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: { env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, file: { type: 'string', minLength: 1 } },
} as const

const connectorAuth = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    basic: { type: 'object', additionalProperties: false, required: ['username', 'password'], properties: { username: { type: 'string', minLength: 1 }, password: secretRef } },
    bearer: secretRef,
  },
} as const

const httpsUrl = { type: 'string', pattern: '^https?://[^\\s]+$' } as const

/** Per ticket system (keyed by the system name of tickets.formats): how jit reaches it. */
const ticketSystemsSchema = {
  type: 'object',
  propertyNames: { pattern: '^[a-z0-9][a-z0-9-]*$' },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    required: ['connector'],
    properties: {
      connector: { enum: ['builtin', 'servicenow', 'jira', 'http'] },
      cache_ttl: duration,
      poll_interval: duration,
      timeout: duration,
      webhook_secret: secretRef,
      url: httpsUrl,
      auth: connectorAuth,
      table: { enum: ['incident', 'change_request', 'wm_order'] },
      closed_states: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
      open_states: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
      asset_field: { type: 'string', minLength: 1 },
      org_field: { type: 'string', minLength: 1 },
      user_format: { type: 'string', pattern: '\\{user\\}' },
      url_template: { type: 'string', pattern: '^https?://[^\\s]*\\{id\\}' },
      state_path: { type: 'string', minLength: 1 },
      assignee_path: { type: 'string', minLength: 1 },
      org_path: { type: 'string', minLength: 1 },
      asset_path: { type: 'string', minLength: 1 },
      title_path: { type: 'string', minLength: 1 },
    },
  },
} as const

/** The OpenID providers people sign in with (jit login --oidc); see docs/SIGN-IN.md. */
const identityProvidersSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'issuer', 'client_id', 'user_claim', 'groups', 'max_age'],
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
      issuer: { type: 'string', pattern: '^https?://[^\\s]+$' },
      client_id: { type: 'string', minLength: 1 },
      client_secret: secretRef,
      scopes: { type: 'array', items: { type: 'string', pattern: '^[!-~]+$' }, minItems: 1 },
      user_claim: { type: 'string', minLength: 1 },
      groups_claim: { type: 'string', minLength: 1 },
      groups: { type: 'object', minProperties: 1, additionalProperties: names },
      max_age: duration,
    },
  },
} as const

const who = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    users: names,
    roles: names,
    orgs: names,
    workloads: { type: 'object', additionalProperties: false, minProperties: 1, properties: { names, spiffe_ids: names, owners: names } },
  },
} as const

export const policySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'rules'],
  properties: {
    version: { const: 1 },
    timezone: timeZone,
    tickets: {
      type: 'object',
      additionalProperties: false,
      properties: {
        formats: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['system', 'pattern'],
            properties: { system: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' }, pattern: { type: 'string', minLength: 1 } },
          },
        },
        systems: ticketSystemsSchema,
      },
    },
    identity_providers: identityProvidersSchema,
    rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'who', 'assets', 'scopes', 'max_ttl'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
          description: { type: 'string' },
          who,
          assets: names,
          asset_attributes: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: { safety_critical: { type: 'boolean' }, owner: names },
          },
          scopes: names,
          max_ttl: duration,
          ticket: {
            type: 'object',
            additionalProperties: false,
            properties: { required: { type: 'boolean' }, systems: names, on_unreachable: { enum: ['deny', 'allow'] } },
          },
          conditions: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              asset_state: { type: 'array', items: assetStates, minItems: 1, uniqueItems: true },
              in_maintenance_window: { type: 'boolean' },
              intent: names,
              source_host: names,
              time_of_day: {
                type: 'object',
                additionalProperties: false,
                required: ['from', 'to'],
                properties: { from: clock, to: clock, days: weekdays, timezone: timeZone },
              },
            },
          },
          approval: {
            oneOf: [
              { const: 'none' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['count'],
                properties: { count: { type: 'integer', minimum: 1, maximum: 5 }, from_roles: names, from_owner_group: { type: 'boolean' } },
              },
            ],
          },
          cache: { type: 'boolean' },
          exclusive: { type: 'boolean' },
          modbus: modbusSchema,
        },
      },
    },
    break_glass: {
      type: 'object',
      additionalProperties: false,
      required: ['who', 'assets', 'scopes', 'max_ttl', 'notify', 'review_due'],
      properties: {
        who,
        assets: names,
        scopes: names,
        max_ttl: duration,
        notify: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        review_due: duration,
      },
    },
  },
} as const
