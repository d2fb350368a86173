import type { INestApplication } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { defaultMetadataStorage as transformerStorage } from 'class-transformer/cjs/storage.js';
import { getMetadataStorage } from 'class-validator';
import { decoratorSchemaOf } from '../../validation/schema-validator.js';
import { problemResponse, RETRY_AFTER_HEADER } from './api-problem.decorator.js';
import { Problem, ProblemFieldError } from './problem.schema.js';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; type?: string; items?: Schema };
type Operation = { parameters?: Array<{ in: string }>; requestBody?: unknown; responses: Record<string, unknown> };

/** Keywords a validated DTO's class-validator rules give its schema (the swagger plugin sees only literals). */
const CONSTRAINTS = [
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
];

/** Routes the platform serves on every process, documented by their own controllers. */
const OPERATIONAL_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

/**
 * The OpenAPI document of the public API, exact: the swagger plugin's schemas completed with the
 * rules of the same class-validator decorators that validate requests (integer, pattern, uuid,
 * bounds: one source of truth), and the problem+json answers every route can give.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('monolith-first store')
      .setDescription('The public HTTP API of store-api.md. Every 4xx/5xx body is application/problem+json (RFC 9457).')
      .setVersion('1')
      .build(),
    { extraModels: [Problem, ProblemFieldError] },
  );
  applyValidationRules(document, requestTypes(app));
  allowNullInNullableEnums(document);
  addCommonProblems(document);
  return document;
}

/** Body types of every route, and the classes they nest (@Type), found from the controllers' signatures. */
function requestTypes(app: INestApplication): Function[] {
  const found = new Set<Function>();
  const visit = (type: unknown) => {
    if (typeof type !== 'function' || found.has(type) || [String, Number, Boolean, Object, Array].includes(type as never)) return;
    if (!/^class\b/.test(Function.prototype.toString.call(type))) return;
    found.add(type);
    // Nested DTOs are the @Type of validated properties, as class-transformer builds them.
    const properties = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(type, '', true, false)
        .map((metadata) => metadata.propertyName),
    );
    for (const property of properties) {
      const nested = transformerStorage.findTypeMetadata(type, property);
      if (nested) visit(nested.typeFunction());
    }
  };
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype;
      if (!controller || Reflect.getMetadata(PATH_METADATA, controller) === undefined) continue;
      for (const method of Object.getOwnPropertyNames(controller.prototype as object)) {
        for (const type of (Reflect.getMetadata('design:paramtypes', controller.prototype as object, method) as unknown[] | undefined) ?? []) visit(type);
      }
    }
  }
  return [...found];
}

function applyValidationRules(document: OpenAPIObject, types: readonly Function[]): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  for (const type of types) {
    const target = schemas[type.name];
    if (!target?.properties) continue;
    // The same reading of the decorators as validation's schema (schema-validator.ts).
    const rules = decoratorSchemaOf(type) as Schema;
    for (const [name, property] of Object.entries(target.properties)) {
      const rule = rules.properties?.[name];
      if (rule) merge(property, rule);
    }
    // Unknown properties anywhere are 400 (whitelist + forbidNonWhitelisted).
    target.additionalProperties = false;
  }
}

function merge(property: Schema, rule: Schema): void {
  if (rule.type === 'integer' && property.type === 'number') property.type = 'integer';
  for (const keyword of CONSTRAINTS) if (rule[keyword] !== undefined && property[keyword] === undefined) property[keyword] = rule[keyword];
  if (property.items && rule.items && !('$ref' in property.items)) merge(property.items, rule.items);
}

/** OpenAPI 3.0.3: `nullable` does not extend an `enum`, so a nullable enum lists null itself (e.g. failureReason). */
function allowNullInNullableEnums(document: OpenAPIObject): void {
  for (const schema of Object.values((document.components?.schemas ?? {}) as Record<string, Schema>)) {
    for (const property of Object.values(schema.properties ?? {})) {
      if (property.nullable === true && Array.isArray(property.enum) && !property.enum.includes(null)) property.enum.push(null);
    }
  }
}

/** What any public route may answer, from what the platform does before and around a handler. */
function addCommonProblems(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    if (OPERATIONAL_PATHS.has(path)) continue;
    for (const operation of Object.values(item) as Operation[]) {
      if (!operation?.responses) continue;
      const add = (status: number, description: string, headers?: typeof RETRY_AFTER_HEADER) => {
        operation.responses[status] ??= problemResponse(description, headers);
      };
      add(400, 'Malformed JSON, failed validation, an unknown property or query parameter.');
      if (operation.parameters?.some((parameter) => parameter.in === 'path')) add(404, 'Nothing has that id or sku (a malformed one included).');
      if (operation.requestBody) {
        add(413, 'The body is over 1 MiB.');
        add(415, 'The body is not application/json.');
      }
      add(500, 'An unexpected failure; never carries a stack trace or SQL.');
      add(503, 'A module the request needs is unreachable (or, for a new order, the store is saturated).', RETRY_AFTER_HEADER);
    }
  }
}
