/**
 * Where answers may go (ADR 21). NATS tells a responder nothing about who sent a
 * request, and a request may name any reply subject: answered blindly, a call
 * could aim a service's answer at `$JS.API.STREAM.PURGE.<stream>` or at another
 * module's operation. So every process of a deployment receives its replies
 * under `_INBOX.<prefix>.<user>` (its own NATS user may subscribe there and no
 * one else may), and a service answers only reply subjects under its
 * deployment's inboxes, `_INBOX.<prefix>.`: an answer can reach nothing but an
 * inbox, and an inbox is read only by the user it belongs to.
 */

/** The inboxes of a deployment: every reply subject a service answers starts with this and a dot. */
export function inboxNamespaceOf(prefix: string): string {
  return `_INBOX.${prefix}`;
}

/** This process's inbox prefix: its NATS user's own, or (without users) the deployment's. */
export function inboxPrefixOf(prefix: string, user?: string): string {
  return user === undefined ? inboxNamespaceOf(prefix) : `${inboxNamespaceOf(prefix)}.${user}`;
}

/** Whether a request's reply subject is one a service of this deployment may answer. */
export function isAnswerableReply(reply: string | undefined, prefix: string): reply is string {
  const namespace = `${inboxNamespaceOf(prefix)}.`;
  return reply !== undefined && reply.length > namespace.length && reply.startsWith(namespace) && !/[*> \t\r\n]/.test(reply);
}
