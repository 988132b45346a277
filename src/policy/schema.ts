// JSON schema of the policy file (YAML). Validation errors are mapped back to file positions.

const duration = { type: 'string', pattern: '^(?:\\d+d)?(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?$', minLength: 2 }
const names = { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }

export const policySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'rules'],
  properties: {
    version: { const: 1 },
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
            properties: { system: { type: 'string', minLength: 1 }, pattern: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
    break_glass: {
      type: 'object',
      additionalProperties: false,
      required: ['who', 'assets', 'scopes', 'max_ttl', 'review_due'],
      properties: {
        who: { type: 'object', additionalProperties: false, minProperties: 1, properties: { users: names, roles: names, orgs: names } },
        assets: names,
        scopes: names,
        max_ttl: duration,
        notify: { type: 'array', items: { type: 'string', minLength: 1 } },
        review_due: duration,
      },
    },
    rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'who', 'assets', 'scopes', 'max_ttl'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
          description: { type: 'string' },
          who: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: { users: names, roles: names, orgs: names },
          },
          assets: names,
          scopes: names,
          max_ttl: duration,
          approval: {
            oneOf: [
              { const: 'none' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['count', 'from_roles'],
                properties: { count: { type: 'integer', minimum: 1, maximum: 5 }, from_roles: names },
              },
            ],
          },
          cache: { type: 'boolean' },
        },
      },
    },
  },
} as const
