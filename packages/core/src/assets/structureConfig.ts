import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

import { describeValueType, isPlainObject } from './AssetMetadata.js';
import { ConfigValidationError, formatConfigPath, type ConfigPath, type ConfigProblem } from './errors.js';

/**
 * One ajv instance for every config schema: all errors (so `fs2 assets validate` lists every
 * problem), no coercion (a string is never read as a number, unlike fairseq2's `int("3")`), and
 * no strict-mode complaints about TypeBox's extra annotations.
 */
const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
const validators = new WeakMap<object, ValidateFunction>();

/**
 * The problems of `value` against `schema` (a TypeBox schema, which is JSON Schema), with
 * unknown keys refused: every object schema that has `properties` and says nothing about
 * additional ones is checked as `additionalProperties: false` (fairseq2's `structure` refuses
 * extra keys the same way). Empty when the value fits.
 */
export function checkConfig(value: unknown, schema: TSchema): ConfigProblem[] {
  const validate = compile(schema);
  if (validate(value)) {
    return [];
  }
  return describeErrors(validate.errors ?? [], value);
}

/**
 * `value` typed by `schema` (`Static<typeof schema>`), when it fits; nothing is converted or
 * filled in.
 *
 * @throws ConfigValidationError listing every unknown key and wrong type.
 */
export function structureConfig<S extends TSchema>(value: unknown, schema: S): Static<S> {
  const problems = checkConfig(value, schema);
  if (problems.length > 0) {
    throw new ConfigValidationError(problems);
  }
  return value as Static<S>;
}

function compile(schema: TSchema): ValidateFunction {
  let validate = validators.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(closeObjectSchemas(schema) as object);
    validators.set(schema, validate);
  }
  return validate;
}

/** Keywords whose values are data, not subschemas. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'required', 'type', '$id', '$ref', 'title', 'description']);

/**
 * A copy of `schema` in which object schemas with `properties` and no word on other keys get
 * `additionalProperties: false`. `allOf` branches are left alone (closing them would make each
 * branch refuse the others' keys).
 */
function closeObjectSchemas(schema: unknown): unknown {
  if (Array.isArray(schema)) {
    return schema.map(closeObjectSchemas);
  }
  if (typeof schema !== 'object' || schema === null) {
    return schema;
  }
  const source = schema as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    copy[key] = DATA_KEYWORDS.has(key) || key === 'allOf' ? value : closeObjectSchemas(value);
  }
  if (
    isPlainObject(source['properties']) &&
    source['additionalProperties'] === undefined &&
    source['patternProperties'] === undefined &&
    source['unevaluatedProperties'] === undefined
  ) {
    copy['additionalProperties'] = false;
  }
  return copy;
}

function pathOf(instancePath: string): (string | number)[] {
  if (instancePath === '') {
    return [];
  }
  return instancePath
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment));
}

function valueAt(root: unknown, path: ConfigPath): unknown {
  let value = root;
  for (const segment of path) {
    value = (value as Record<string | number, unknown> | undefined)?.[segment];
  }
  return value;
}

function subject(path: ConfigPath): string {
  return path.length === 0 ? 'The configuration' : `\`${formatConfigPath(path)}\``;
}

function describeActual(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? JSON.stringify(value)
    : describeValueType(value);
}

function typeName(type: unknown): string {
  return type === 'array' ? 'list' : String(type);
}

/** Turns ajv's errors into one sentence per problem; the errors of `anyOf` branches fold into one. */
function describeErrors(errors: readonly ErrorObject[], root: unknown): ConfigProblem[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const inUnion = (e: ErrorObject): ErrorObject | undefined =>
    unions.find((u) => u !== e && e.schemaPath.startsWith(`${u.schemaPath}/`));
  const problems: ConfigProblem[] = [];
  for (const error of errors) {
    if (inUnion(error) !== undefined) {
      continue;
    }
    const path = pathOf(error.instancePath);
    const actual = valueAt(root, path);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties': {
        const at = [...path, String(params['additionalProperty'])];
        problems.push({ path: at, kind: 'unknown_key', reason: `\`${formatConfigPath(at)}\` is not a known key.` });
        break;
      }
      case 'required': {
        const at = [...path, String(params['missingProperty'])];
        problems.push({ path: at, kind: 'missing_key', reason: `\`${formatConfigPath(at)}\` is missing.` });
        break;
      }
      case 'type':
        problems.push({
          path,
          kind: 'type',
          reason: `${subject(path)} is expected to be of type ${String(params['type']).split(',').map(typeName).join(' or ')}, but is of type ${describeValueType(actual)} instead.`,
        });
        break;
      case 'enum':
        problems.push({
          path,
          kind: 'type',
          reason: `${subject(path)} is expected to be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, but is ${describeActual(actual)} instead.`,
        });
        break;
      case 'const':
        problems.push({
          path,
          kind: 'type',
          reason: `${subject(path)} is expected to be ${JSON.stringify(params['allowedValue'])}, but is ${describeActual(actual)} instead.`,
        });
        break;
      case 'anyOf':
      case 'oneOf':
        problems.push({ path, kind: 'type', reason: describeUnion(error, errors, path, actual) });
        break;
      default:
        problems.push({
          path,
          kind: 'value',
          reason: `${subject(path)} ${error.message ?? 'is not valid'}, but is ${describeActual(actual)}.`,
        });
    }
  }
  return problems;
}

/** "`x` is expected to be one of "a", "b", but is "c" instead." from the failed branches of a union. */
function describeUnion(union: ErrorObject, errors: readonly ErrorObject[], path: ConfigPath, actual: unknown): string {
  const branches = errors.filter((e) => e.schemaPath.startsWith(`${union.schemaPath}/`));
  const simple = branches.every(
    (e) => e.instancePath === union.instancePath && (e.keyword === 'type' || e.keyword === 'const' || e.keyword === 'enum'),
  );
  if (!simple || branches.length === 0) {
    return `${subject(path)} does not match any of the forms its schema allows (it is ${describeActual(actual)}).`;
  }
  const values: string[] = [];
  const types: string[] = [];
  const branchOf = (e: ErrorObject): string => e.schemaPath.slice(union.schemaPath.length + 1).split('/')[0] ?? '';
  for (const branch of new Set(branches.map(branchOf))) {
    const own = branches.filter((e) => branchOf(e) === branch);
    // A `const` or `enum` branch also fails its `type` check: its values say it all.
    const valued = own.filter((e) => e.keyword === 'const' || e.keyword === 'enum');
    for (const e of valued.length > 0 ? valued : own) {
      const params = e.params as Record<string, unknown>;
      if (e.keyword === 'const') {
        values.push(JSON.stringify(params['allowedValue']));
      } else if (e.keyword === 'enum') {
        values.push(...(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)));
      } else {
        types.push(...String(params['type']).split(',').map(typeName));
      }
    }
  }
  const uniqueValues = [...new Set(values)];
  const uniqueTypes = [...new Set(types)];
  const expected =
    uniqueTypes.length === 0
      ? `one of ${uniqueValues.join(', ')}`
      : uniqueValues.length === 0
        ? `of type ${uniqueTypes.join(' or ')}`
        : `one of ${uniqueValues.join(', ')} or of type ${uniqueTypes.join(' or ')}`;
  const scalar = typeof actual === 'string' || typeof actual === 'number' || typeof actual === 'boolean';
  const but = uniqueValues.length > 0 && scalar ? describeActual(actual) : `of type ${describeValueType(actual)}`;
  return `${subject(path)} is expected to be ${expected}, but is ${but} instead.`;
}
