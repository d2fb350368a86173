/** Bad usage (an unknown option, an unreadable baseline): exit 2 with one line, not a stack trace. */
export class UsageError extends Error {}
