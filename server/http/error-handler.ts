import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import type { ErrorBody } from '../../schema/api.ts';
import { codeForStatus, HttpError, type ErrorCode } from './errors.ts';

/** The router's limit on one path segment; a longer one answers 414 URI_TOO_LONG. */
export const MAX_PARAM_LENGTH = 100;

/**
 * Fixed messages for what fastify raises itself. Its own messages may carry the request (a bad URL
 * repeats the path, a long parameter the whole segment); ours never do.
 */
const FRAMEWORK_MESSAGES: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BAD_REQUEST', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BAD_REQUEST', message: 'the body is empty but its content type says JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', message: 'the body does not match its Content-Length' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'the body is larger than this server accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'this content type is not accepted here; send application/json' },
  FST_ERR_BAD_URL: { code: 'BAD_REQUEST', message: 'the URL is not valid (malformed percent-encoding)' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', message: `a path segment is longer than ${MAX_PARAM_LENGTH} characters` },
};

/**
 * Validation messages name the field and the rule, never a value. zod's message for an unknown key
 * quotes the key, which is the client's input, so that one is replaced.
 */
const VALIDATION_MESSAGES: Readonly<Record<string, string>> = {
  unrecognized_keys: 'a field outside the contract',
  invalid_key: 'an invalid key',
};

function describeValidation(error: FastifyError): string {
  const issues = (error.validation ?? []).slice(0, 3).map((issue) => {
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const message = VALIDATION_MESSAGES[issue.keyword] ?? issue.message ?? 'invalid';
    return path ? `${path}: ${message}` : message;
  });
  return `invalid ${error.validationContext ?? 'request'}: ${issues.join('; ')}`;
}

const statusText = (statusCode: number): string => (STATUS_CODES[statusCode] ?? 'error').toLowerCase();

function toErrorBody(error: FastifyError): ErrorBody {
  if (error instanceof HttpError) return { statusCode: error.statusCode, code: error.code, message: error.message };
  if (hasZodFastifySchemaValidationErrors(error) || error.validation) {
    return { statusCode: 400, code: 'VALIDATION_FAILED', message: describeValidation(error) };
  }
  const known = FRAMEWORK_MESSAGES[error.code];
  if (known) return { statusCode: error.statusCode ?? 400, ...known };
  if (!isResponseSerializationError(error) && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    // Raised by fastify or a plugin with a message we have not vetted: the status says enough.
    return { statusCode: error.statusCode, code: codeForStatus(error.statusCode), message: statusText(error.statusCode) };
  }
  return { statusCode: 500, code: 'INTERNAL', message: 'internal error' };
}

function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = toErrorBody(error);
  if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.debug({ code: body.code }, 'request refused');
  if (body.statusCode === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(body.statusCode).type('application/json').send(body);
}

/** The one place an error becomes a response: always `{ statusCode, code, message }`, never a stack. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((_request, reply) => {
    // Not the path: a 404 must not repeat what the client sent.
    const body: ErrorBody = { statusCode: 404, code: 'NOT_FOUND', message: 'no route for this method and path' };
    return reply.code(404).send(body);
  });
}

/** What the HTTP parser refused before fastify saw a request: Node's error code -> our answer. */
function clientErrorBody(code: string | undefined): ErrorBody {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { statusCode: 431, code: 'HEADERS_TOO_LARGE', message: 'the request line and headers are larger than this server accepts' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { statusCode: 408, code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' };
    case 'HPE_INVALID_METHOD':
      return { statusCode: 501, code: 'METHOD_NOT_IMPLEMENTED', message: 'this method is not an HTTP method this server implements' };
    default:
      return { statusCode: 400, code: 'BAD_REQUEST', message: 'the request is not valid HTTP' };
  }
}

export interface FrameworkErrorHooks {
  /** Runs before a router-level refusal is answered (the rate limits: a bad URL is a request too). */
  admit(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Told of every request the HTTP parser refused, which no route or hook ever sees. */
  clientError(statusCode: number): void;
}

/**
 * Fastify options that send the errors raised before routing (a malformed URL, an over-long path
 * segment) and by Node's HTTP parser (header overflow, an unknown method, garbage) through the same
 * shape as everything else.
 */
export function frameworkErrorOptions(
  hooks: FrameworkErrorHooks,
): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> & { routerOptions: { maxParamLength: number } } {
  return {
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors(error, request, reply) {
      hooks.admit(request, reply).then(
        () => sendError(error, request, reply),
        (refusal: FastifyError) => sendError(refusal, request, reply),
      );
    },
    clientErrorHandler(error: Error & { code?: string }, socket: Socket) {
      // A reset connection has nobody to answer; a response already under way must not be interleaved.
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const body = clientErrorBody(error.code);
      hooks.clientError(body.statusCode);
      if (socket.writable && socket.bytesWritten === 0) {
        const json = JSON.stringify(body);
        socket.write(
          `HTTP/1.1 ${body.statusCode} ${STATUS_CODES[body.statusCode] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`,
        );
      }
      socket.destroy(error);
    },
  };
}
