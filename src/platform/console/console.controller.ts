import { randomBytes, randomUUID } from 'node:crypto';
import { Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ProblemException } from '../http/problem.js';
import { MAX_WATCHED, OperatorRequestError, readOperatorRequest } from '../operations/operator-requests.js';
import { ConsoleAuth } from './console-auth.js';
import { consolePage, loginPage } from './console-page.js';
import { ConsoleError, OperatorConsole } from './operator-console.js';

const MODULE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * The operator console (ADR 40): `/console`, served by a gateway when
 * CONSOLE_TOKEN is set (otherwise not routed at all: 404). Every route asks
 * for the token: the page answers a login form without it, the data API and
 * the actions 401 problem+json. Not part of the public API (no OpenAPI).
 */
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  constructor(
    @Inject(OperatorConsole) private readonly console: OperatorConsole,
    @Inject(ConsoleAuth) private readonly auth: ConsoleAuth,
  ) {}

  @Get()
  page(@Req() request: Request, @Res() response: Response): void {
    // A nonce per answer: the page's own inline script and style run, nothing injected does.
    const nonce = randomBytes(16).toString('base64');
    response.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Referrer-Policy', 'no-referrer');
    response.setHeader('X-Frame-Options', 'DENY');
    response.type('html');
    if (!this.auth.admits(request)) {
      response.status(401).send(loginPage(nonce));
      return;
    }
    response.status(200).send(consolePage(nonce));
  }

  /** The login form posts the token as JSON here; the answer sets the session cookie. */
  @Post('login')
  @HttpCode(204)
  login(@Req() request: Request, @Res({ passthrough: true }) response: Response): void {
    const token = (request.body as { token?: unknown } | undefined)?.token;
    if (!this.auth.matches(token)) throw unauthorized();
    this.auth.openSession(request, response);
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Req() request: Request, @Res({ passthrough: true }) response: Response): void {
    this.auth.closeSession(request, response);
  }

  /** Everything the page shows, read anew: modules, where they run, sagas, outboxes, consumers, this process's metrics. */
  @Get('api/overview')
  async overview(@Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<unknown> {
    this.admit(request);
    response.setHeader('Cache-Control', 'no-store');
    return this.console.overview(watchOf(request.query.watch));
  }

  /** An action on one module: `{ "op": "retry" | "cancel" | "signal" | "replay", ... }` (operator-requests.ts). */
  @Post('api/modules/:module/actions')
  @HttpCode(200)
  async act(@Req() request: Request, @Param('module') module: string): Promise<unknown> {
    this.admit(request);
    if (!MODULE_NAME.test(module)) throw new ProblemException(404, `no module '${module.slice(0, 64)}'`);
    let action;
    try {
      action = readOperatorRequest(request.body, randomUUID);
    } catch (error) {
      if (error instanceof OperatorRequestError) throw new ProblemException(400, error.message);
      throw error;
    }
    if (action.op === 'overview') throw new ProblemException(400, `op: one of retry, cancel, signal, replay`);
    try {
      return await this.console.act(module, action);
    } catch (error) {
      if (error instanceof ConsoleError) throw new ProblemException(error.status, error.message, undefined, error.status === 503 ? { 'Retry-After': '1' } : {});
      throw error;
    }
  }

  private admit(request: Request): void {
    if (!this.auth.admits(request)) throw unauthorized();
  }
}

/**
 * `?watch=<module>/<saga>/<key>` (repeated, at most MAX_WATCHED): sagas the page follows by key (the
 * ones its operator acted on). Keys are not secrets; they may contain '/', saga and module names may not.
 */
function watchOf(raw: unknown): Map<string, Array<{ saga: string; key: string }>> {
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (values.length > MAX_WATCHED) throw new ProblemException(400, `watch: at most ${MAX_WATCHED}`);
  const watch = new Map<string, Array<{ saga: string; key: string }>>();
  for (const value of values) {
    const match = typeof value === 'string' ? /^([a-z][a-z0-9-]{0,62})\/([^/]{1,200})\/(.{1,200})$/su.exec(value) : null;
    if (!match || /[\p{Cc}]/u.test(value as string)) throw new ProblemException(400, 'watch: expected <module>/<saga>/<key>');
    const list = watch.get(match[1]) ?? [];
    list.push({ saga: match[2], key: match[3] });
    watch.set(match[1], list);
  }
  return watch;
}

function unauthorized(): ProblemException {
  return new ProblemException(401, 'the console needs its admin token (Authorization: Bearer, or log in at /console)', undefined, {
    'WWW-Authenticate': 'Bearer realm="console"',
  });
}
