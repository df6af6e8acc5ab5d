import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import type { ErrorBody } from '../../schema/api.ts';
import { codeForStatus, HttpError } from './errors.ts';

function describeValidation(error: FastifyError): string {
  const issues = (error.validation ?? []).slice(0, 3).map((issue) => {
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    return path ? `${path}: ${issue.message ?? 'invalid'}` : (issue.message ?? 'invalid');
  });
  return `invalid ${error.validationContext ?? 'request'}: ${issues.join('; ')}`;
}

function toErrorBody(error: FastifyError): ErrorBody {
  if (error instanceof HttpError) return { statusCode: error.statusCode, code: error.code, message: error.message };
  if (hasZodFastifySchemaValidationErrors(error) || error.validation) {
    return { statusCode: 400, code: 'VALIDATION_FAILED', message: describeValidation(error) };
  }
  if (!isResponseSerializationError(error) && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { statusCode: error.statusCode, code: codeForStatus(error.statusCode), message: error.message };
  }
  return { statusCode: 500, code: 'INTERNAL', message: 'internal error' };
}

/** The one place an error becomes a response: always `{ statusCode, code, message }`, never a stack. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const body = toErrorBody(error);
    if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code: body.code }, 'request refused');
    if (body.statusCode === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(body.statusCode).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { statusCode: 404, code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` };
    return reply.code(404).send(body);
  });
}
